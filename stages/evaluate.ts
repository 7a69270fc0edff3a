/** Test-set evaluation: loss, accuracy (overall and per mask, e.g. balanced800), confusion matrix, per-class P/R/F1. */
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readDataset } from '../src/data/dataset.js';
import { writeEvaluationReport, type EvaluationMetrics } from '../src/artifacts/evaluation-report.js';
import { loadStageTf, numericEnvironment } from '../src/ml/numeric-environment.js';
import { loadModelFrom, outputClasses } from '../src/ml/model-source.js';
import { argmax, predictAll } from '../src/ml/batches.js';
import { classificationReport } from '../src/ml/metrics.js';

const evaluateParams = StrictObject({
  masks: Type.Array(Type.String(), { default: [], description: 'also report on these subsets, e.g. [balanced800]' }),
  batch_size: Type.Integer({ minimum: 1, default: 1024 }),
});

export default defineStage<Static<typeof evaluateParams>>({
  description: 'evaluate on a held-out test set: accuracy, loss, confusion matrix, per-class metrics',
  version: 1,
  environment: numericEnvironment,
  paramsSchema: evaluateParams,
  inputs: {
    model: { description: 'trained model (tfjs folder or Keras .h5)', required: true },
    dataset: { description: 'test data', required: true },
  },
  outputs: ['report'],
  async run(ctx) {
    const tf = await loadStageTf(ctx);
    const test = await readDataset(ctx.input('dataset'));
    const model = await loadModelFrom(tf, ctx.input('model'));
    const classes = test.meta.classes;
    const outputs = outputClasses(model);
    if (outputs !== classes.length) throw new UserInputError(`evaluate: model predicts ${outputs} classes, test data has ${classes.length}`);
    const started = performance.now();
    const probs = await predictAll(tf, model, test, ctx.params.batch_size, (done) => ctx.progress.update(`predicted ${done}/${test.meta.count}`));
    const seconds = (performance.now() - started) / 1000;
    const report = classificationReport(probs, test.labels, classes);
    const subsets: EvaluationMetrics['subsets'] = {};
    for (const mask of ctx.params.masks) {
      const m = test.masks[mask];
      if (!m) throw new UserInputError(`evaluate: test data has no mask "${mask}"; masks: ${Object.keys(test.masks).join(', ') || 'none'}`);
      const r = classificationReport(probs, test.labels, classes, (i) => m[i] === 1);
      subsets[mask] = { count: r.count, accuracy: r.accuracy, loss: r.loss };
    }
    const metrics: EvaluationMetrics = {
      count: report.count,
      accuracy: report.accuracy,
      loss: report.loss,
      subsets,
      per_class: report.perClass,
      most_confused: report.mostConfused,
      inference_images_per_second: test.meta.count / seconds,
    };
    const k = classes.length;
    const predicted = Int32Array.from({ length: test.meta.count }, (_, i) => argmax(probs.subarray(i * k, (i + 1) * k)));
    await writeEvaluationReport(ctx.output('report'), { metrics, classes, confusion: report.confusion, predicted, probabilities: probs });
    ctx.log.info(`test accuracy ${(report.accuracy * 100).toFixed(2)}% loss ${report.loss.toFixed(4)} on ${report.count} images${Object.entries(subsets).map(([k, v]) => `; ${k}: ${(v.accuracy * 100).toFixed(2)}% of ${v.count}`).join('')}`);
    ctx.log.info(`most confused: ${report.mostConfused.slice(0, 5).map((c) => `${c.true}→${c.predicted} ×${c.count}`).join(', ')}`);
    ctx.recordMetrics({ accuracy: report.accuracy, loss: report.loss, ...Object.fromEntries(Object.entries(subsets).map(([k, v]) => [`${k}_accuracy`, v.accuracy])), inference_images_per_second: metrics.inference_images_per_second });
    model.dispose();
  },
});
