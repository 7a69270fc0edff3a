/** Writes the JSON mapping from numeric label to class name, e.g. {"0": "a", …}. */
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { readDatasetMeta } from '../src/data/dataset.js';
import { writeLabels } from '../src/artifacts/labels.js';

const writeLabelsParams = StrictObject({});

export default defineStage<Static<typeof writeLabelsParams>>({
  description: 'write labels.json mapping numeric labels to letters',
  version: 1,
  paramsSchema: writeLabelsParams,
  inputs: { dataset: { description: 'any dataset carrying the class names', required: true } },
  outputs: ['labels'],
  async run(ctx) {
    await writeLabels(ctx.output('labels'), (await readDatasetMeta(ctx.input('dataset'))).classes);
  },
});
