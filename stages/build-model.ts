/** Builds a CNN from a preset or a YAML list of layers, sized by the dataset it will train on. */
import { defineStage, StrictObject, StringEnum, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readDatasetMeta } from '../src/data/dataset.js';
import { LAYER_TYPES, PRESETS, buildModel, type LayerSpec } from '../src/ml/architectures.js';
import { saveModel, summarize } from '../src/ml/model-io.js';
import { loadStageTf, numericEnvironment } from '../src/ml/numeric-environment.js';
import { withSeededMathRandom } from '../src/util/random.js';

const buildModelParams = StrictObject({
  preset: Type.Optional(StringEnum(Object.keys(PRESETS))),
  layers: Type.Optional(Type.Array(Type.Unsafe<LayerSpec>({ type: 'object', required: ['type'], properties: { type: { enum: [...LAYER_TYPES] } } }), { minItems: 1 })),
  seed: Type.Integer({ default: 0 }),
}, { not: { required: ['preset', 'layers'] } });

export default defineStage<Static<typeof buildModelParams>>({
  description: 'build a CNN (preset seed-cnn or default, or a list of layers)',
  version: 1,
  environment: numericEnvironment,
  paramsSchema: buildModelParams,
  inputs: { dataset: { description: 'training dataset: gives the input shape and the classes', required: true } },
  outputs: ['model'],
  async run(ctx) {
    const meta = await readDatasetMeta(ctx.input('dataset'));
    const preset = ctx.params.preset ?? 'default';
    const layers = ctx.params.layers ?? PRESETS[preset];
    if (!layers) throw new UserInputError(`build-model: no preset "${preset}"; presets: ${Object.keys(PRESETS).join(', ')}`);
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
