/** Gives each sample a new shape (e.g. 28x28 → 28x28x1). The pixel file is hard-linked, not copied. */
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readDataset, sampleSize, writeDataset } from '../src/data/dataset.js';

const reshapeParams = StrictObject({
  shape: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 4, default: [28, 28, 1] }),
});

export default defineStage<Static<typeof reshapeParams>>({
  description: 'reshape every sample, e.g. to 28x28x1 for a conv net',
  version: 1,
  paramsSchema: reshapeParams,
  inputs: { dataset: { description: 'dataset to reshape', required: true } },
  outputs: ['dataset'],
  async run(ctx) {
    const ds = await readDataset(ctx.input('dataset'));
    const want = ctx.params.shape.reduce((a, b) => a * b, 1);
    if (want !== sampleSize(ds.meta)) {
      throw new UserInputError(`reshape: samples are ${ds.meta.sampleShape.join('x')} (${sampleSize(ds.meta)} values); cannot reshape to ${ctx.params.shape.join('x')} (${want})`);
    }
    await writeDataset(ctx.output('dataset'), { ...ds, meta: { ...ds.meta, sampleShape: ctx.params.shape } }, { linkImagesFrom: ctx.input('dataset') });
  },
});
