/**
 * Runs experiments (pipeline + overrides) side by side, each as its own
 * `inkflow run` process: real parallelism on separate cores, and a crash in one
 * variant cannot take the others down. Stages shared by variants are computed
 * once (the engine's per-key locks), and the median rule stops laggards early.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { RunEvent } from '../engine/events.js';
import type { MedianStopper } from './median-stop.js';
import { setArgs, type Variant } from './sweep.js';

export interface Experiment {
  /** Position in its sweep: the median rule compares a run with those started before it. */
  order: number;
  pipeline: string;
  sweep: string;
  variant: Variant;
}

export type ExperimentStatus = 'ok' | 'failed' | 'stopped' | 'cancelled';

export interface ExperimentResult {
  experiment: Experiment;
  status: ExperimentStatus;
  runId?: string;
  /** Why it failed or was stopped. */
  reason?: string;
}

export interface RunnerOptions {
  workspace: string;
  jobs: number;
  /** Extra `inkflow run` arguments for every experiment, e.g. `--executor bullmq --redis <url>` to spread stages over workers. */
  runArgs?: readonly string[];
  signal?: AbortSignal;
  stopper?: MedianStopper;
  /** Every engine event of every experiment, as it happens. */
  onEvent?: (experiment: Experiment, event: RunEvent) => void;
  onStart?: (experiment: Experiment) => void;
  onEnd?: (result: ExperimentResult) => void;
}

/** Runs experiments `jobs` at a time; once the signal aborts, running ones are cancelled and no new ones start. */
export async function runExperiments(experiments: Experiment[], options: RunnerOptions): Promise<ExperimentResult[]> {
  const results: ExperimentResult[] = [];
  let next = 0;
  const worker = async () => {
    for (let experiment = experiments[next++]; experiment && !options.signal?.aborted; experiment = experiments[next++]) {
      results.push(await runExperiment(experiment, options));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, experiments.length)) }, worker));
  return results.sort((a, b) => a.experiment.order - b.experiment.order);
}

export function runExperiment(experiment: Experiment, options: Omit<RunnerOptions, 'jobs'>): Promise<ExperimentResult> {
  options.onStart?.(experiment);
  const tag = { sweep: experiment.sweep, name: experiment.variant.name, overrides: experiment.variant.overrides };
  const child = fork(cliPath(), ['run', experiment.pipeline, ...setArgs(experiment.variant.overrides), ...(options.runArgs ?? []), '--json', '--experiment', JSON.stringify(tag)], {
    cwd: options.workspace,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, INKFLOW_WORKSPACE: options.workspace },
  });
  const cancel = () => {
    if (child.connected) child.send({ cancel: true });
  };
  options.signal?.addEventListener('abort', cancel, { once: true });
  let summary: Extract<RunEvent, { event: 'summary' }> | undefined;
  let stopReason: string | undefined;
  let firstFailure: string | undefined;
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let event: RunEvent;
    try {
      event = JSON.parse(line) as RunEvent;
    } catch {
      return;
    }
    if (event.event === 'summary') summary = event;
    if (event.event === 'stage-end' && event.status === 'failed' && !firstFailure) firstFailure = `${event.stage}: ${event.error?.split('\n')[0]}`;
    if (event.event === 'stage-epoch' && options.stopper && !stopReason) {
      stopReason = options.stopper.observe(experiment.order, event.stage, event.epoch, event.metrics);
      if (stopReason && child.connected) child.send({ stop: stopReason });
    }
    options.onEvent?.(experiment, event);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 20) stderr.shift();
  });
  return new Promise((resolve) => {
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', cancel);
      const result: ExperimentResult = { experiment, status: 'failed', runId: summary?.runId };
      if (summary?.ok) result.status = 'ok';
      else if (summary?.stopped) Object.assign(result, { status: 'stopped', reason: summary.stopped });
      else if (summary?.cancelled || options.signal?.aborted) result.status = 'cancelled';
      else result.reason = firstFailure ?? (stderr.join('\n').trim() || `inkflow run exited with code ${code}`);
      options.onEnd?.(result);
      resolve(result);
    });
  });
}

/** bin/inkflow.js of this installation, found from this module whether it runs from dist/ or from the sources. */
function cliPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'inkflow.js'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find bin/inkflow.js above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return join(dir, 'bin', 'inkflow.js');
}
