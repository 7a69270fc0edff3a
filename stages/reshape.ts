/** Gives each sample a new shape (e.g. 28x28 → 28x28x1). The pixel file is hard-linked, not copied. */
import { defineStage, strictObject } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readDataset, sampleSize, writeDataset } from '../src/data/dataset.js';

interface ReshapeParams {
  shape: number[];
}

export default defineStage<ReshapeParams>({
  description: 'reshape every sample, e.g. to 28x28x1 for a conv net',
  version: 1,
  paramsSchema: strictObject({
    properties: {
      shape: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, maxItems: 4, default: [28, 28, 1] },
    },
  }),
  inputs: { dataset: { description: 'dataset to reshape', required: true } },
  outputs: ['dataset'],
  async run(ctx) {
    const ds = await readDataset(ctx.inputs.dataset);
    const want = ctx.params.shape.reduce((a, b) => a * b, 1);
    if (want !== sampleSize(ds.meta)) {
      throw new UserInputError(`reshape: samples are ${ds.meta.sampleShape.join('x')} (${sampleSize(ds.meta)} values); cannot reshape to ${ctx.params.shape.join('x')} (${want})`);
    }
    await writeDataset(ctx.output('dataset'), { ...ds, meta: { ...ds.meta, sampleShape: ctx.params.shape } }, { linkImagesFrom: ctx.inputs.dataset });
  },
});
