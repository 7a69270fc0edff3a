/** What a running stage sees: its StageContext, wired to the store, the run's events and its log file. */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedStage } from './config.js';
import type { EventSink } from './events.js';
import type { EpochMetrics, StageContext } from './stage-api.js';
import type { ArtifactStore, Manifest } from './store.js';
import { InternalError, UserInputError } from '../errors.js';

export interface ContextEnv {
  workspace: string;
  logDir: string;
  environment: Readonly<Record<string, string>>;
  runId: string;
  curve: EpochMetrics[];
  signal: AbortSignal;
  metrics: Record<string, number>;
  emit: EventSink;
}

export function makeContext(
  stage: ResolvedStage,
  outputPath: (name: string) => string,
  results: ReadonlyMap<string, Manifest>,
  store: ArtifactStore,
  env: ContextEnv,
): StageContext<unknown> {
  const inputs: Record<string, string> = {};
  for (const [name, ref] of Object.entries(stage.inputs)) {
    const upstream = results.get(ref.stage);
    if (!upstream) throw new InternalError(`upstream "${ref.stage}" of "${stage.name}" has no result`);
    inputs[name] = store.outputPath(upstream.key, ref.output);
  }
  const logFile = join(env.logDir, 'stage.log');
  const log = (level: 'info' | 'warn') => (message: string) => {
    env.emit({ event: 'stage-log', stage: stage.name, level, message });
    void appendFile(logFile, `${new Date().toISOString()} ${level} ${message}\n`).catch(() => undefined);
  };
  return {
    params: stage.params,
    inputs,
    input: (name: string) => {
      const path = inputs[name];
      if (path === undefined) throw new UserInputError(`stage "${stage.name}" (${stage.uses}) needs input "${name}": wire it under the stage's inputs: in the pipeline file`);
      return path;
    },
    output: (name: string) => {
      if (!stage.outputs.includes(name)) throw new Error(`stage "${stage.name}" wrote undeclared output "${name}"`);
      return outputPath(name);
    },
    workspace: env.workspace,
    logDir: env.logDir,
    environment: env.environment,
    signal: env.signal,
    log: { info: log('info'), warn: log('warn') },
    progress: { update: (message) => env.emit({ event: 'stage-progress', stage: stage.name, message }) },
    recordMetrics: (m) => Object.assign(env.metrics, m),
    reportEpoch: (epoch, m) => {
      env.curve.push({ ...m, epoch } as EpochMetrics);
      env.emit({ event: 'stage-epoch', stage: stage.name, epoch, metrics: m });
    },
    runId: env.runId,
  };
}

/** Peak resident memory while a stage runs (process-wide: parallel stages share it). */
export function sampleMemory() {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 100);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}
