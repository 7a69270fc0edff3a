/**
 * What runners and workers say to each other through Redis: the queue, the job's data
 * and result, the progress messages, the cancel channel and the worker registry.
 * One source of truth for both sides.
 */
import type { RunEvent } from '../engine/events.js';
import type { StageJobSpec } from '../engine/stage-job.js';

/** BullMQ's key prefix and the queue every runner and worker of a Redis shares. */
export const PREFIX = 'inkflow';
export const QUEUE = 'stages';

export interface StageJobData extends StageJobSpec {
  /** For messages: who is waiting for this stage. */
  runner: { host: string; pid: number; id: string };
}

export interface StageJobReturn {
  key: string;
  host: string;
  worker: string;
  /** Nothing was computed: the worker found the result in its store or the remote. */
  reused: boolean;
  metrics: Record<string, number>;
  peakRssBytes?: number;
  startedAt: string;
  seconds: { fetch: number; run: number; publish: number };
}

/** Stage events a worker forwards to the runner, batched into one job progress update. */
const FORWARDED = ['stage-progress', 'stage-log', 'stage-epoch', 'stage-start'] as const;
export type ForwardedEvent = Extract<RunEvent, { event: (typeof FORWARDED)[number] }>;

export function isForwarded(event: RunEvent): event is ForwardedEvent {
  return (FORWARDED as readonly string[]).includes(event.event);
}

export interface ProgressMessage {
  host: string;
  worker: string;
  events: ForwardedEvent[];
}

/** Runners publish a job id here to abort its stage on whichever worker runs it. */
export const CANCEL_CHANNEL = `${PREFIX}:cancel`;
/** Set (with a TTL) beside the publish, for a worker that picks the job up just after. */
export const cancelKey = (jobId: string) => `${PREFIX}:cancelled:${jobId}`;
export const CANCEL_TTL_SECONDS = 24 * 3600;

/** Each runner refreshes its entry while alive: a worker drops the jobs of a runner that is gone (killed, crashed). */
export const runnerKey = (id: string) => `${PREFIX}:runners:${id}`;
export const RUNNER_TTL_SECONDS = 15;

/** Each worker refreshes its entry while alive; it expires when the worker dies. */
export const workerKey = (id: string) => `${PREFIX}:workers:${id}`;
export const WORKER_KEY_PATTERN = `${PREFIX}:workers:*`;
export const WORKER_TTL_SECONDS = 15;

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  cpu: number;
  startedAt: string;
  running: { jobId: string; pipeline: string; stage: string; runId: string; since: string }[];
}
