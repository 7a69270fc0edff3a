/**
 * Builds a line model (CNN + 1-D convolutions over the columns, CTC output) from a preset or a list of layers,
 * optionally grown from a trained line model (its weights start the layers they fit; see growFrom).
 */
import { defineStage, StrictObject, StringEnum, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readCharset, classCount } from '../src/lines/charset.js';
import { buildLineModel, growFrom, LINE_PRESETS, lineModelStride, type LineLayerSpec } from '../src/lines/line-model.js';
import { loadLineModel, saveLineModel, LINE_MODEL_FORMAT } from '../src/lines/line-model-artifact.js';
import { summarize } from '../src/ml/model-io.js';
import { loadStageTf, numericEnvironment } from '../src/ml/numeric-environment.js';
import { withSeededMathRandom } from '../src/util/random.js';
import { ruleErasureOf, withRuleErasure, type RuleErasureMethod } from '../src/lines/line-rules.js';

const LAYER_TYPES = ['conv2d', 'maxPooling2d', 'batchNormalization', 'dropout', 'activation', 'spatialDropout'];

export const buildLineModelParams = StrictObject({
  preset: Type.Optional(StringEnum(Object.keys(LINE_PRESETS))),
  layers: Type.Optional(Type.Array(Type.Unsafe<LineLayerSpec>({ type: 'object', required: ['type'], properties: { type: { enum: LAYER_TYPES } } }), { minItems: 1 })),
  height: Type.Optional(Type.Integer({ minimum: 8, maximum: 256, description: "input height: required with layers; a preset reads its own (conv-ctc's is 40) unless this names another multiple of its height step" })),
  seed: Type.Integer({ default: 0 }),
}, { not: { required: ['preset', 'layers'] } });

export default defineStage<Static<typeof buildLineModelParams>>({
  description: 'build a CTC line model (preset conv-ctc, or a list of layers)',
  version: 2,
  environment: numericEnvironment,
  paramsSchema: buildLineModelParams,
  inputs: {
    charset: { description: 'the charset the model reads', required: true },
    init: { description: 'a trained line model to grow from: layers with its names and shapes take its weights, new ones start as the identity where they can', required: false },
  },
  outputs: ['model'],
  async run(ctx) {
    const p = ctx.params;
    const name = p.preset ?? 'conv-ctc';
    const preset = LINE_PRESETS[name]!;
    const height = p.height ?? (p.layers ? undefined : preset.height);
    if (!height) throw new UserInputError('build-line-model: with a list of layers, set params.height (the line height the model reads)');
    if (!p.layers && height % preset.heightStep !== 0) {
      const near = Math.max(1, Math.round(height / preset.heightStep)) * preset.heightStep;
      throw new UserInputError(`build-line-model: preset ${name} reads heights that are multiples of ${preset.heightStep}, not ${height}; set params.height and load-lines' height to ${near}`);
    }
    const layers = p.layers ?? preset.layers(height);
    const charset = await readCharset(ctx.input('charset'));
    const tf = await loadStageTf(ctx);
    const model = await withSeededMathRandom(p.seed, async () => {
      try {
        return buildLineModel(tf, layers, height, classCount(charset));
      } catch (err) {
        throw new UserInputError(`build-line-model: ${(err as Error).message}`);
      }
    });
    let erasure: RuleErasureMethod | false | undefined;
    if (ctx.inputs.init) {
      const source = await loadLineModel(tf, ctx.inputs.init);
      if (source.meta.erase_rules !== undefined) erasure = ruleErasureOf(source.meta);
      const [theirs, ours] = [source.meta.charset.characters, charset.characters];
      if (JSON.stringify(theirs) !== JSON.stringify(ours)) {
        const only = (a: string[], b: string[]) => JSON.stringify(a.filter((c) => !b.includes(c)).join(''));
        const difference = theirs.length === ours.length && only(theirs, ours) === '""' ? 'the same characters in another order' : `only the init model has ${only(theirs, ours)}, only the charset input ${only(ours, theirs)}`;
        throw new UserInputError(`build-line-model: the init model reads ${theirs.length} characters and the charset input has ${ours.length}; grow from a model trained on the same charset (or build without init). They differ: ${difference}`);
      }
      if (source.meta.height !== height) throw new UserInputError(`build-line-model: the init model reads lines ${source.meta.height} px high, this model ${height} px; set params.height to ${source.meta.height}`);
      const grown = growFrom(tf, model, source.model);
      source.model.dispose();
      ctx.log.info(`grown from the init model: ${grown.copied.length} layers copied, ${grown.identity.length} new as the identity (${grown.identity.join(', ') || 'none'}), ${grown.fresh.length} new from scratch (${grown.fresh.join(', ') || 'none'})`);
      ctx.recordMetrics({ grown_copied: grown.copied.length, grown_identity: grown.identity.length, grown_fresh: grown.fresh.length });
    }
    const { lines, params } = summarize(model);
    for (const line of lines) ctx.log.info(line);
    const stride = lineModelStride(model);
    ctx.recordMetrics({ parameters: params, stride });
    // A grown model reads lines as the model it was grown from learned them.
    const meta = { format: LINE_MODEL_FORMAT, kind: 'ctc-line' as const, height, stride, charset };
    await saveLineModel(tf, model, erasure === undefined ? meta : withRuleErasure(meta, erasure), ctx.output('model'));
    model.dispose();
  },
});
