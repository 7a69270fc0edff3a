/**
 * PNG plots: loss/accuracy curves with learning-rate drops and the confusion matrix
 * (the dashboard's Vega-Lite specs, rendered in Node), and misclassified test images.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { readDataset } from '../src/data/dataset.js';
import { readTrainingHistory } from '../src/artifacts/training-history.js';
import { readEvaluationReport } from '../src/artifacts/evaluation-report.js';
import { confusionPng, misclassifiedPng, trainingCurvesPng } from '../src/viz/training-plots.js';

const visualizeParams = StrictObject({
  misclassified: Type.Integer({ minimum: 0, maximum: 400, default: 60 }),
});

export default defineStage<Static<typeof visualizeParams>>({
  description: 'plot training curves, the confusion matrix and misclassified test images',
  version: 1,
  paramsSchema: visualizeParams,
  inputs: {
    history: { description: 'train.history', required: true },
    report: { description: 'evaluate.report', required: true },
    dataset: { description: 'the evaluated test data, for the misclassified grid', required: true },
  },
  outputs: ['plots'],
  async run(ctx) {
    const out = ctx.output('plots');
    await mkdir(out, { recursive: true });
    const history = await readTrainingHistory(ctx.input('history'));
    await writeFile(join(out, 'curves.png'), await trainingCurvesPng(history.epochs));

    const test = await readDataset(ctx.input('dataset'));
    const report = await readEvaluationReport(ctx.input('report'));
    const title = `Confusion matrix: ${(report.metrics.accuracy * 100).toFixed(2)}% of ${report.metrics.count} test images (colour: share of row)`;
    await writeFile(join(out, 'confusion.png'), await confusionPng(report.confusion, test.meta.classes, title));

    const wrong: number[] = [];
    for (let i = 0; i < report.predicted.length && wrong.length < ctx.params.misclassified; i++) if (report.predicted[i] !== test.labels[i]) wrong.push(i);
    await writeFile(join(out, 'misclassified.png'), await misclassifiedPng(test, report.predicted, wrong));
    ctx.log.info(`wrote curves.png, confusion.png, misclassified.png (${wrong.length} shown)`);
  },
});
