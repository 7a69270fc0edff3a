/** Saves a trained model as Keras HDF5 (model.h5) and as tfjs model.json + weights for JavaScript and browsers. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { loadStageTf, numericEnvironment } from '../src/ml/numeric-environment.js';
import { loadModelFrom } from '../src/ml/model-source.js';
import { saveModel } from '../src/ml/model-io.js';
import { saveKerasH5 } from '../src/ml/keras-h5.js';
import { copyLineModelMeta } from '../src/lines/line-model-artifact.js';

const saveHdf5Params = StrictObject({
  filename: Type.String({ pattern: '^[A-Za-z0-9_.-]+\\.h5$', default: 'model.h5' }),
});

export default defineStage<Static<typeof saveHdf5Params>>({
  description: 'write the model as Keras .h5 and as a tfjs model folder',
  version: 1,
  environment: numericEnvironment,
  paramsSchema: saveHdf5Params,
  inputs: { model: { description: 'trained model', required: true } },
  outputs: ['keras', 'tfjs'],
  async run(ctx) {
    const tf = await loadStageTf(ctx);
    const model = await loadModelFrom(tf, ctx.input('model'));
    await mkdir(ctx.output('keras'), { recursive: true });
    await saveKerasH5(model, join(ctx.output('keras'), ctx.params.filename));
    await saveModel(tf, model, ctx.output('tfjs'));
    // A line model's charset and geometry travel with both exports.
    await copyLineModelMeta(ctx.input('model'), ctx.output('keras'));
    await copyLineModelMeta(ctx.input('model'), ctx.output('tfjs'));
    model.dispose();
  },
});
