/**
 * Promotes the pipeline's model to models/<name>/vN, but only when its metric beats
 * the current champion's by more than a margin: scheduled retraining never replaces
 * a better model with a worse one. Writes its decision as an output.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defineStage, strictObject } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { promoteModel } from '../src/exp/models.js';

interface PromoteParams {
  name: string;
  metric: string;
  goal: 'maximize' | 'minimize';
  margin: number;
  models_dir: string;
}

export default defineStage<PromoteParams>({
  description: 'promote the model to models/<name>/ if it beats the current one by a margin',
  version: 1,
  paramsSchema: strictObject({
    required: ['name', 'metric'],
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$', description: 'models/<name>/' },
      metric: { type: 'string', minLength: 1, description: 'metric in the report that decides, e.g. balanced800_accuracy' },
      goal: { enum: ['maximize', 'minimize'], default: 'maximize' },
      margin: { type: 'number', minimum: 0, default: 0, description: 'how much better than the current model the new one must be' },
      models_dir: { type: 'string', default: 'models', description: 'relative to the workspace' },
    },
  }),
  inputs: {
    model: { description: 'the trained model', required: true },
    report: { description: 'a metrics JSON file, or a folder holding metrics.json (evaluate.report)', required: true },
    labels: { description: 'labels JSON (write-labels.labels)' },
  },
  outputs: ['decision'],
  async run(ctx) {
    const p = ctx.params;
    const reportFile = (await stat(ctx.input('report'))).isDirectory() ? join(ctx.input('report'), 'metrics.json') : ctx.input('report');
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as Record<string, unknown>;
    const metrics = Object.fromEntries(Object.entries(report).filter((e): e is [string, number] => typeof e[1] === 'number'));
    if (!(p.metric in metrics)) throw new UserInputError(`promote: the report has no numeric metric "${p.metric}"; it has ${Object.keys(metrics).join(', ')}`);
    const result = await promoteModel({
      modelsDir: resolve(ctx.workspace, p.models_dir),
      name: p.name,
      model: ctx.input('model'),
      labels: ctx.inputs.labels,
      metrics,
      source: { runId: ctx.runId, promotedBy: 'promote stage', metrics },
      gate: { metric: p.metric, goal: p.goal, margin: p.margin },
    });
    ctx.log.info(result.promoted ? result.reason : `not promoted: ${result.reason}`);
    ctx.recordMetrics({ promoted: result.promoted ? 1 : 0 });
    await writeFile(ctx.output('decision'), JSON.stringify(result, null, 2) + '\n');
  },
});
