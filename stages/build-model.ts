/** Builds a CNN from a preset or a YAML list of layers, sized by the dataset it will train on. */
import { defineStage, strictObject } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetMeta } from '../src/data/dataset.js';
import { LAYER_TYPES, PRESETS, buildModel, type LayerSpec } from '../src/ml/architectures.js';
import { saveModel, summarize } from '../src/ml/model-io.js';
import { loadStageTf, numericEnvironment } from '../src/ml/numeric-environment.js';
import { withSeededMathRandom } from '../src/util/random.js';

interface BuildParams {
  preset?: string;
  layers?: LayerSpec[];
  seed: number;
}

export default defineStage<BuildParams>({
  description: 'build a CNN (preset seed-cnn or default, or a list of layers)',
  version: 1,
  environment: numericEnvironment,
  paramsSchema: strictObject({
    properties: {
      preset: { enum: Object.keys(PRESETS) },
      layers: {
        type: 'array',
        minItems: 1,
        items: { type: 'object', required: ['type'], properties: { type: { enum: [...LAYER_TYPES] } } },
      },
      seed: { type: 'integer', default: 0 },
    },
    not: { required: ['preset', 'layers'] },
  }),
  inputs: { dataset: { description: 'training dataset: gives the input shape and the classes', required: true } },
  outputs: ['model'],
  async run(ctx) {
    const meta = JSON.parse(await readFile(join(ctx.inputs.dataset, 'meta.json'), 'utf8')) as DatasetMeta;
    const layers = ctx.params.layers ?? PRESETS[ctx.params.preset ?? 'default'];
    const tf = await loadStageTf(ctx);
    const model = await withSeededMathRandom(ctx.params.seed, async () => {
      try {
        return buildModel(tf, layers, meta.sampleShape, meta.classes.length);
      } catch (err) {
        throw new UserInputError(`build-model: ${(err as Error).message}`);
      }
    });
    const { lines, params } = summarize(model);
    for (const line of lines) ctx.log.info(line);
    ctx.recordMetrics({ parameters: params });
    await saveModel(tf, model, ctx.output('model'));
    model.dispose();
  },
});
