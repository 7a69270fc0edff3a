import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadPipeline } from '../../engine/config.js';
import { workspacePaths } from '../../engine/workspace.js';
import { findRun, flatMetrics, newRunId, type RunRecord } from '../../engine/run-record.js';
import { ArtifactStore } from '../../engine/store.js';
import { ConfigError, UsageError, type Diagnostic } from '../../errors.js';
import { MedianStopper } from '../../exp/median-stop.js';
import { MODEL_NAME_PATTERN, promoteModel } from '../../exp/models.js';
import { ExperimentQueue, type QueueItem } from '../../exp/queue.js';
import { runExperiment, runExperiments, type Experiment, type ExperimentResult } from '../../exp/runner.js';
import { defaultMetric, renderSummary, summarizeSweep, writeSweepSummary } from '../../exp/summary.js';
import { expandSweep, loadSweepFile, sweepFromSets, type Goal, type SweepSpec } from '../../exp/sweep.js';
import { firstLine, formatSeconds } from '../../util/text.js';
import { integerOption, parseCommandArgs } from '../args.js';
import { executorOption, table, workspaceRoot } from './common.js';
import type { RunEvent } from '../../engine/events.js';

const HELP = `usage: inkflow exp <command>

  exp run <pipeline.yaml> --set stage.param=a,b [...]   run every combination (a grid)
  exp run <pipeline.yaml> --sweep sweeps/<name>.yaml    run a sweep file (grid or random, ranges, early stopping)
  exp run sweeps/<name>.yaml                            a sweep file that names its pipeline
      --jobs <n>        variants running side by side (default: the sweep's jobs, else 1)
      --queue           add the variants to the workspace's queue instead of running them
      --metric <name>   final metric that ranks the runs (default: the sweep's, else an accuracy)
      --goal <g>        maximize (default) or minimize
      --method <m> --seed <n> --max-runs <n>   override the sweep file's
      --json            one JSON line per engine event of every variant, then the summary
      --executor bullmq --redis <url> [--remote <name>]
                        send the variants' stages to \`inkflow worker\`s (see \`inkflow run --help\`);
                        --jobs then says how many variants feed the queue at once
  exp start [-j <n>]    work off the queue, n at a time, until it is empty
      --executor bullmq --redis <url> [--remote <name>]   as for exp run: the stages go to workers
  exp ls [--json]       the queue: queued, running and finished experiments
  exp cancel <id|sweep>... | --all    cancel queued experiments; running ones are stopped
  exp promote <run> --as <name> [--gate <metric> [--margin <x>] [--goal maximize|minimize]] [--models-dir models]
                        copy a run's model, labels, metrics and record to models/<name>/vN and point current at it;
                        with --gate, only if it beats the current model by more than the margin`;

export async function expCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'run':
      return expRun(rest);
    case 'start':
      return expStart(rest);
    case 'ls':
      return expLs(rest);
    case 'cancel':
      return expCancel(rest);
    case 'promote':
      return expPromote(rest);
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(HELP + '\n');
      return sub ? 0 : 2;
    default:
      throw new UsageError(`exp: unknown command "${sub}"\n\n${HELP}`);
  }
}

async function isSweepFile(file: string): Promise<boolean> {
  try {
    const doc = parseYaml(await readFile(file, 'utf8')) as unknown;
    return !!doc && typeof doc === 'object' && 'parameters' in doc;
  } catch {
    return false;
  }
}

async function expRun(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('exp run', args, {
    set: { type: 'string', multiple: true },
    sweep: { type: 'string' },
    jobs: { type: 'string', short: 'j' },
    queue: { type: 'boolean' },
    metric: { type: 'string' },
    goal: { type: 'string' },
    method: { type: 'string' },
    seed: { type: 'string' },
    'max-runs': { type: 'string' },
    json: { type: 'boolean' },
    executor: { type: 'string' },
    redis: { type: 'string' },
    remote: { type: 'string' },
  }, HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const first = positionals[0];
  if (!first) throw new UsageError(`exp run: name a pipeline or a sweep file\n\n${HELP}`);
  let spec: SweepSpec = { method: 'grid', seed: 0, parameters: {} };
  let pipelineFile = first;
  const sweepFile = values.sweep ?? ((await isSweepFile(first)) ? first : undefined);
  if (sweepFile) {
    spec = await loadSweepFile(sweepFile);
    if (sweepFile === first) {
      if (!spec.pipeline) throw new UsageError(`exp run: ${sweepFile} names no pipeline; add \`pipeline: pipelines/<name>.yaml\` or run \`inkflow exp run <pipeline> --sweep ${sweepFile}\``);
      pipelineFile = spec.pipeline;
    }
  }
  const diagnostics: Diagnostic[] = [];
  const fromSets = sweepFromSets(values.set ?? [], diagnostics);
  if (diagnostics.length) throw new ConfigError(diagnostics);
  spec.parameters = { ...spec.parameters, ...fromSets.parameters };
  spec.set = { ...spec.set, ...Object.fromEntries(fromSets.fixed.map((s) => [s.slice(0, s.indexOf('=')), parseYaml(s.slice(s.indexOf('=') + 1)) as unknown])) };
  if (values.method) {
    if (values.method !== 'grid' && values.method !== 'random') throw new UsageError(`exp run: --method is grid or random, not "${values.method}"`);
    spec.method = values.method;
  }
  spec.seed = integerOption('exp run', 'seed', values.seed) ?? spec.seed;
  spec.max_runs = integerOption('exp run', 'max-runs', values['max-runs'], { min: 1 }) ?? spec.max_runs;
  if (values.goal && values.goal !== 'maximize' && values.goal !== 'minimize') throw new UsageError(`exp run: --goal is maximize or minimize, not "${values.goal}"`);
  if (!Object.keys(spec.parameters).length) throw new UsageError(`exp run: nothing to sweep; give a list (--set train.learning_rate=1e-3,3e-4) or a sweep file (--sweep)`);
  const variants = expandSweep(spec);
  const workspace = workspaceRoot();

  // Every variant must resolve before any runs: a typo in one should not surface an hour in.
  const problems = new Map<string, { diagnostic: Diagnostic; variants: string[] }>();
  for (const variant of variants) {
    const sets = Object.entries(variant.overrides).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    await loadPipeline(pipelineFile, { workspace, overrides: sets }).catch((err) => {
      if (!(err instanceof ConfigError)) throw err;
      for (const d of err.diagnostics) {
        const id = `${d.where}\0${d.message}`;
        problems.set(id, { diagnostic: d, variants: [...(problems.get(id)?.variants ?? []), variant.name] });
      }
    });
  }
  if (problems.size) {
    throw new ConfigError([...problems.values()].map(({ diagnostic, variants: names }) => ({
      where: diagnostic.where,
      message: names.length === variants.length ? diagnostic.message : `${diagnostic.message} (in variant ${names.join('; ')})`,
    })));
  }

  const sweep = `sweep-${newRunId()}`;
  const pipeline = resolve(pipelineFile);
  const experiments: Experiment[] = variants.map((variant, order) => ({ order, pipeline, sweep, variant }));
  if (values.queue) {
    const added = await new ExperimentQueue(workspace).add(experiments.map((e) => ({ ...e, stopRule: spec.early_terminate })));
    process.stdout.write(table([['ID', 'VARIANT'], ...added.map((i) => [i.id, i.variant.name])]) + `\n\n${added.length} experiment(s) of ${sweep} queued; run \`inkflow exp start -j <n>\` to work them off\n`);
    return 0;
  }

  const jobs = integerOption('exp run', 'jobs', values.jobs, { min: 1 }) ?? spec.jobs ?? 1;
  const controller = interruptible('the sweep', 'cancelling running variants (Ctrl-C again to quit at once)');
  const progress = values.json ? jsonProgress() : plainProgress(experiments.length);
  process.stderr.write(`${sweep}: ${experiments.length} variant(s) of ${pipelineFile}, ${jobs} at a time\n`);
  const results = await runExperiments(experiments, {
    workspace,
    jobs,
    runArgs: executorArgs('exp run', values),
    signal: controller.signal,
    stopper: spec.early_terminate && new MedianStopper(spec.early_terminate),
    ...progress,
  }).finally(() => controller.dispose());
  const summary = await summarize(sweep, results, workspace, values.metric ?? spec.metric, (values.goal as Goal | undefined) ?? spec.goal);
  if (values.json) process.stdout.write(JSON.stringify({ event: 'sweep-summary', ...summary.data, png: summary.png }) + '\n');
  else process.stdout.write(summary.text + '\n');
  if (controller.signal.aborted) return 130;
  return results.every((r) => r.status === 'ok' || r.status === 'stopped') ? 0 : 1;
}

/** `--executor`, `--redis`, `--remote` as given, passed on to each variant's `inkflow run`. */
function executorArgs(command: string, values: { executor?: string; redis?: string; remote?: string }): string[] {
  executorOption(command, values.executor);
  // The URL may carry a password: the variants get it in their environment, not on a command line `ps` shows.
  if (values.redis) process.env.INKFLOW_REDIS_URL = values.redis;
  return [...(values.executor ? ['--executor', values.executor] : []), ...(values.remote ? ['--remote', values.remote] : [])];
}

async function summarize(sweep: string, results: ExperimentResult[], workspace: string, metric: string | undefined, goal: Goal | undefined) {
  const runsDir = workspacePaths(workspace).runs;
  const records = new Map<string, RunRecord>();
  for (const r of results) if (r.runId) records.set(r.runId, await findRun(runsDir, r.runId));
  const chosen = metric ?? defaultMetric([...records.values()]) ?? 'none';
  const data = summarizeSweep(sweep, results, records, chosen, goal ?? (/loss|error/.test(chosen) ? 'minimize' : 'maximize'));
  const png = await writeSweepSummary(join(workspace, 'logs', 'sweeps', sweep), data);
  const text = renderSummary(data) + `\n\nsummary: ${join('logs', 'sweeps', sweep, 'summary.json')}${png ? `, plot: ${join('logs', 'sweeps', sweep, 'summary.png')}` : ''}\ncompare: inkflow runs --sweep ${sweep}`;
  return { data, png, text };
}

/** First Ctrl-C/SIGTERM aborts the signal; a second exits at once. */
function interruptible(what: string, message: string) {
  const controller = new AbortController();
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++count > 1) process.exit(130);
    process.stderr.write(`\ninkflow: ${signal}: ${message}\n`);
    controller.abort(new Error(`${what} was interrupted`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function label(e: Experiment, total?: number): string {
  return `[${e.order + 1}${total ? `/${total}` : ''} ${e.variant.name}]`;
}

function plainProgress(total?: number, progressEveryMs = 10_000) {
  const stamp = () => new Date().toISOString().slice(11, 19);
  const say = (line: string) => process.stderr.write(`[${stamp()}] ${line}\n`);
  const lastProgress = new Map<number, number>();
  return {
    onStart: (e: Experiment) => say(`${label(e, total)} started`),
    onEvent: (e: Experiment, event: RunEvent) => {
      if (event.event === 'stage-progress' && Date.now() - (lastProgress.get(e.order) ?? 0) >= progressEveryMs) {
        lastProgress.set(e.order, Date.now());
        say(`${label(e, total)} ${event.stage}: ${event.message}`);
      }
      if (event.event === 'stage-end' && event.status !== 'skipped') say(`${label(e, total)} ${event.stage}: ${event.status}${event.status === 'failed' ? '' : ` in ${formatSeconds(event.seconds)}`}`);
      if (event.event === 'stage-epoch') say(`${label(e, total)} ${event.stage} epoch ${event.epoch}: ${Object.entries(event.metrics).map(([k, v]) => `${k} ${Number(v.toPrecision(4))}`).join(', ')}`);
    },
    onEnd: (r: ExperimentResult) => say(`${label(r.experiment, total)} ${r.status}${r.runId ? ` (run ${r.runId})` : ''}${r.reason ? `: ${r.reason.split('\n')[0]}` : ''}`),
  };
}

function jsonProgress() {
  const write = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
  return {
    onEvent: (e: Experiment, event: RunEvent) => write({ experiment: e.variant.name, order: e.order, ...event }),
    onEnd: (r: ExperimentResult) => write({ event: 'experiment-end', experiment: r.experiment.variant.name, order: r.experiment.order, status: r.status, runId: r.runId, reason: r.reason }),
  };
}

async function expStart(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('exp start', args, {
    jobs: { type: 'string', short: 'j' },
    json: { type: 'boolean' },
    executor: { type: 'string' },
    redis: { type: 'string' },
    remote: { type: 'string' },
  }, HELP);
  if (!parsed) return 0;
  const jobs = integerOption('exp start', 'jobs', parsed.values.jobs, { min: 1 }) ?? 1;
  const runArgs = executorArgs('exp start', parsed.values);
  const workspace = workspaceRoot();
  const queue = new ExperimentQueue(workspace);
  const controller = interruptible('the queue worker', 'stopping; running experiments go back to the queue (Ctrl-C again to quit at once)');
  const stoppers = new Map<string, MedianStopper>();
  const running = new Map<string, { item: QueueItem; abort: AbortController; done: Promise<void> }>();
  const progress = parsed.values.json ? jsonProgress() : plainProgress();
  let finished = 0;
  const watchCancels = setInterval(() => {
    void queue.list().then((items) => {
      for (const item of items) if (item.cancelRequested) running.get(item.id)?.abort.abort(new Error('cancelled with exp cancel'));
    }).catch(() => undefined);
  }, 500);
  try {
    for (;;) {
      while (running.size < jobs && !controller.signal.aborted) {
        const item = await queue.claim();
        if (!item) break;
        const abort = new AbortController();
        const onStop = () => abort.abort(controller.signal.reason);
        controller.signal.addEventListener('abort', onStop, { once: true });
        if (item.stopRule && !stoppers.has(item.sweep)) stoppers.set(item.sweep, new MedianStopper(item.stopRule));
        const experiment: Experiment = { order: item.order, pipeline: item.pipeline, sweep: item.sweep, variant: item.variant };
        const done = runExperiment(experiment, { workspace, runArgs, signal: abort.signal, stopper: stoppers.get(item.sweep), ...progress }).then(async (result) => {
          controller.signal.removeEventListener('abort', onStop);
          running.delete(item.id);
          // Interrupted by this worker's own Ctrl-C: back to the queue, not lost. Cancelled with `exp cancel`: cancelled.
          const interrupted = result.status === 'cancelled' && controller.signal.aborted;
          await queue.finish(item.id, interrupted ? { status: 'queued', reason: 'interrupted; queued again' } : { status: result.status, runId: result.runId, reason: result.reason });
          finished++;
        });
        running.set(item.id, { item, abort, done });
      }
      if (!running.size) break;
      await Promise.race([...running.values()].map((r) => r.done));
    }
  } finally {
    clearInterval(watchCancels);
    controller.dispose();
  }
  process.stderr.write(`exp start: ${finished} experiment(s) finished; ${controller.signal.aborted ? 'interrupted' : 'the queue is empty'}\n`);
  return controller.signal.aborted ? 130 : 0;
}

async function expLs(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('exp ls', args, { json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const items = await new ExperimentQueue(workspaceRoot()).list();
  if (parsed.values.json) {
    process.stdout.write(JSON.stringify(items) + '\n');
    return 0;
  }
  if (!items.length) {
    process.stdout.write('the queue is empty\n');
    return 0;
  }
  const rows = [['ID', 'STATUS', 'SWEEP', 'VARIANT', 'RUN', 'TRIES', 'NOTE']];
  for (const i of items) rows.push([i.id, i.status + (i.cancelRequested && i.status === 'running' ? ' (cancelling)' : ''), i.sweep, i.variant.name, i.runId ?? '-', String(i.attempts), firstLine(i.reason ?? '')]);
  process.stdout.write(table(rows) + '\n');
  return 0;
}

async function expCancel(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('exp cancel', args, { all: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  if (!parsed.values.all && !parsed.positionals.length) throw new UsageError(`exp cancel: name experiment ids (or a sweep id), or --all\n\n${HELP}`);
  const touched = await new ExperimentQueue(workspaceRoot()).cancel(parsed.values.all ? 'all' : parsed.positionals);
  for (const i of touched) process.stdout.write(`${i.id}: ${i.status === 'queued' ? 'cancelled' : 'stopping (its worker cancels it)'}\n`);
  if (!touched.length) process.stdout.write('nothing queued or running matched\n');
  return 0;
}

async function expPromote(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('exp promote', args, {
    as: { type: 'string' },
    gate: { type: 'string' },
    margin: { type: 'string' },
    goal: { type: 'string' },
    'models-dir': { type: 'string' },
    json: { type: 'boolean' },
  }, HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const [ref] = positionals;
  if (!ref || !values.as) throw new UsageError(`exp promote needs a run and --as <name>\n\n${HELP}`);
  if (!MODEL_NAME_PATTERN.test(values.as)) throw new UsageError(`exp promote: --as "${values.as}" must be letters, digits, "-" or "_"`);
  if (values.goal && values.goal !== 'maximize' && values.goal !== 'minimize') throw new UsageError(`exp promote: --goal is maximize or minimize, not "${values.goal}"`);
  const margin = values.margin === undefined ? 0 : Number(values.margin);
  if (!Number.isFinite(margin) || margin < 0) throw new UsageError(`exp promote: --margin needs a number ≥ 0, not "${values.margin}"`);
  const workspace = workspaceRoot();
  const paths = workspacePaths(workspace);
  const run = await findRun(paths.runs, ref);
  if (!run.ok) throw new UsageError(`exp promote: run ${run.runId} did not finish ok; promote a run that did`);
  const store = new ArtifactStore(paths.artifacts);
  const outputs = await runOutputs(run, store);
  const model = outputs.find((o) => o.output === 'model' && o.uses === 'train') ?? outputs.filter((o) => o.output === 'model').pop();
  if (!model) throw new UsageError(`exp promote: run ${run.runId} has no stage output named "model" in the store (was it garbage-collected?)`);
  const labels = outputs.find((o) => o.output === 'labels');
  const result = await promoteModel({
    modelsDir: resolve(workspace, values['models-dir'] ?? 'models'),
    name: values.as,
    model: model.path,
    labels: labels?.path,
    metrics: flatMetrics(run),
    source: run,
    gate: values.gate ? { metric: values.gate, margin, goal: (values.goal as Goal | undefined) ?? (/loss|error/.test(values.gate) ? 'minimize' : 'maximize') } : undefined,
  });
  if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(`${result.promoted ? '' : 'not promoted: '}${result.reason}${result.path ? `\nmodel from ${model.stage}.model of run ${run.runId}; use it with --model ${join(values['models-dir'] ?? 'models', values.as)}` : ''}\n`);
  return result.promoted ? 0 : 3;
}

/** Each stage output of a run that is still in the store, in stage order. */
async function runOutputs(run: RunRecord, store: ArtifactStore) {
  const out: { stage: string; uses: string; output: string; path: string }[] = [];
  for (const [stage, record] of Object.entries(run.stages)) {
    if (!record.key) continue;
    const manifest = await store.lookup(record.key);
    for (const output of Object.keys(manifest?.outputs ?? {})) out.push({ stage, uses: record.uses, output, path: store.outputPath(record.key, output) });
  }
  return out;
}
