/** Brings an existing model (a Keras .h5 or a tfjs folder) into the pipeline, e.g. to evaluate it or fine-tune it. */
import { resolve } from 'node:path';
import { defineStage, strictObject } from '../src/engine/stage-api.js';
import { loadStageTf, numericEnvironment } from '../src/ml/numeric-environment.js';
import { loadModelFrom } from '../src/ml/model-source.js';
import { saveModel, summarize } from '../src/ml/model-io.js';

interface ImportParams {
  path: string;
}

export default defineStage<ImportParams>({
  description: 'import a Keras .h5 or tfjs model as a pipeline model',
  version: 1,
  environment: numericEnvironment,
  paramsSchema: strictObject({
    required: ['path'],
    properties: { path: { type: 'string', minLength: 1 } },
  }),
  inputs: {},
  outputs: ['model'],
  fileParams: (p) => [p.path],
  async run(ctx) {
    const tf = await loadStageTf(ctx);
    const model = await loadModelFrom(tf, resolve(ctx.workspace, ctx.params.path));
    const { params } = summarize(model);
    ctx.log.info(`imported ${ctx.params.path}: ${model.layers.length} layers, ${params} parameters`);
    ctx.recordMetrics({ parameters: params });
    await saveModel(tf, model, ctx.output('model'));
    model.dispose();
  },
});
