/**
 * Brings an existing model (a Keras .h5 or a tfjs folder) into the pipeline, e.g.
 * to evaluate it or fine-tune it. A line model keeps its line-model.json, so
 * train-lines can fine-tune it on a user's own lines.
 */
import { resolve } from 'node:path';
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { loadStageTf, numericEnvironment } from '../src/ml/numeric-environment.js';
import { findModel, loadModelFrom, modelFolder } from '../src/ml/model-source.js';
import { isLineModel, loadLineModel, saveLineModel } from '../src/lines/line-model-artifact.js';
import { saveModel, summarize } from '../src/ml/model-io.js';

const importModelParams = StrictObject({
  path: Type.String({ minLength: 1 }),
});

export default defineStage<Static<typeof importModelParams>>({
  description: 'import a Keras .h5 or tfjs model as a pipeline model',
  version: 2,
  environment: numericEnvironment,
  paramsSchema: importModelParams,
  inputs: {},
  outputs: ['model'],
  fileParams: (p) => [p.path],
  async run(ctx) {
    const tf = await loadStageTf(ctx);
    const path = resolve(ctx.workspace, ctx.params.path);
    const folder = modelFolder(await findModel(path));
    const line = isLineModel(folder) ? await loadLineModel(tf, folder) : undefined;
    const model = line?.model ?? (await loadModelFrom(tf, path));
    const { params } = summarize(model);
    ctx.log.info(`imported ${line ? 'line model' : 'model'} ${ctx.params.path}: ${model.layers.length} layers, ${params} parameters`);
    ctx.recordMetrics({ parameters: params });
    if (line) await saveLineModel(tf, model, line.meta, ctx.output('model'));
    else await saveModel(tf, model, ctx.output('model'));
    model.dispose();
  },
});
