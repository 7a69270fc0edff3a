/**
 * Scheduled retraining: reruns a pipeline at each cron tick. The pipeline file is
 * reloaded every tick so edits take effect; a tick that arrives while the previous
 * run is still going is skipped and logged, never queued.
 */
import { Cron } from 'croner';
import { loadPipeline } from './config.js';
import { runPipeline, type RunResult } from './executor.js';
import type { EventSink } from './events.js';

export interface ScheduleOptions {
  file: string;
  cron: string;
  workspace: string;
  overrides?: string[];
  maxRuns?: number;
  signal?: AbortSignal;
  onEvent: EventSink;
  onTick: (message: string) => void;
}

export function validateCron(expression: string): string | undefined {
  try {
    new Cron(expression, { paused: true }).stop();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Resolves when `maxRuns` runs have finished (skipped ticks do not count) or the signal aborts. */
export function schedulePipeline(options: ScheduleOptions): Promise<void> {
  return new Promise((resolve) => {
    let running: Promise<RunResult | undefined> | undefined;
    let ticks = 0;
    let runs = 0;
    const job = new Cron(options.cron, async () => {
      ticks++;
      const tick = ticks;
      if (running) {
        options.onTick(`tick ${tick}: previous run still in progress, skipped`);
      } else {
        options.onTick(`tick ${tick}: starting ${options.file}`);
        running = (async () => {
          try {
            const pipeline = await loadPipeline(options.file, { workspace: options.workspace, overrides: options.overrides });
            const result = await runPipeline(pipeline, { workspace: options.workspace, signal: options.signal, onEvent: options.onEvent, trigger: `schedule ${options.cron}` });
            options.onTick(`tick ${tick}: ${result.ok ? 'ok' : 'failed'} (run ${result.runId})`);
            return result;
          } catch (err) {
            options.onTick(`tick ${tick}: could not run: ${(err as Error).message}`);
            return undefined;
          } finally {
            running = undefined;
          }
        })();
        await running;
        runs++;
        if (options.maxRuns !== undefined && runs >= options.maxRuns) void finish();
      }
    });
    const finish = async () => {
      job.stop();
      await running;
      resolve();
    };
    options.signal?.addEventListener('abort', () => void finish(), { once: true });
    const next = job.nextRun();
    options.onTick(`scheduled ${options.file} with "${options.cron}"; next run ${next?.toISOString() ?? 'never'}`);
    if (!next) void finish();
  });
}
