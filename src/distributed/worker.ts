/**
 * A worker: takes stage jobs from the queue and computes each one with the engine's own
 * code (stage-job.ts, in-process-executor.ts) in its workspace, a checkout of the same
 * repository as the runner's. Its lock on a job is renewed while it lives; if it dies
 * (kill -9, a lost machine) the lock lapses, another worker's stall check puts the job
 * back in the queue, and the staging directory it left is never published.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { loadPipeline } from '../engine/config.js';
import type { RunEvent } from '../engine/events.js';
import { InProcessExecutor } from '../engine/in-process-executor.js';
import type { RemoteCache } from '../engine/remote-cache.js';
import { KeyMismatchError, runStageJob } from '../engine/stage-job.js';
import { workspacePaths } from '../engine/workspace.js';
import { CancelledError, ConfigError, describeError } from '../errors.js';
import { randomBytes } from 'node:crypto';
import { commandClient, connectionOptions, connectOrExplain } from './connection.js';
import { CANCEL_CHANNEL, cancelKey, isForwarded, PREFIX, QUEUE, runnerKey, workerKey, WORKER_TTL_SECONDS, type ForwardedEvent, type ProgressMessage, type StageJobData, type StageJobReturn, type WorkerInfo } from './protocol.js';
import { redactRedisUrl } from './redis-url.js';
import { isInside } from '../util/paths.js';

export interface WorkerOptions {
  redisUrl: string;
  workspace: string;
  concurrency: number;
  /** Cores this worker hands to stages that declare `resources: { cpu }`. */
  cpu: number;
  remote?: RemoteCache;
  /** How long a job's lock lasts without renewal: a dead worker's job runs again after about this long. */
  stallSeconds: number;
  /** One line per thing worth telling whoever watches the worker. */
  say: (line: string) => void;
}

export interface RunningWorker {
  id: string;
  /** Stops taking jobs; `abortRunning` also aborts the stages running now (they are retried elsewhere). */
  close(abortRunning: boolean): Promise<void>;
}

/** How often a running stage's events reach the runner (one Redis write each time). */
const FLUSH_MS = 100;

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const host = hostname();
  const id = `${host}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const startedAt = new Date().toISOString();
  const client = commandClient(options.redisUrl);
  await connectOrExplain(client, options.redisUrl);
  const subscriber = commandClient(options.redisUrl);
  await connectOrExplain(subscriber, options.redisUrl);
  const executor = new InProcessExecutor(workspacePaths(options.workspace).locks, options.cpu);
  const running = new Map<string, WorkerInfo['running'][number]>();
  const cancelledByRunner = new Set<string>();
  const info = (): WorkerInfo => ({ id, host, pid: process.pid, concurrency: options.concurrency, cpu: options.cpu, startedAt, running: [...running.values()] });

  const processor = async (job: Job<StageJobData, StageJobReturn>, _token?: string, signal?: AbortSignal): Promise<StageJobReturn> => {
    const jobId = job.id!;
    const data = job.data;
    const label = `run ${data.runId} stage ${data.stage}`;
    if (await client.exists(cancelKey(jobId))) throw new UnrecoverableError('cancelled by the runner before it started');
    if (!(await client.exists(runnerKey(data.runner.id)))) {
      options.say(`${label}: dropped: its runner (pid ${data.runner.pid} on ${data.runner.host}) is gone`);
      throw new UnrecoverableError(`its runner (pid ${data.runner.pid} on ${data.runner.host}) is gone`);
    }
    running.set(jobId, { jobId, pipeline: data.pipelineFile, stage: data.stage, runId: data.runId, since: new Date().toISOString() });
    void heartbeat();
    const abort = new AbortController();
    const onAbort = () => abort.abort(new CancelledError(cancelledByRunner.has(jobId) ? 'cancelled by the runner' : 'the worker is stopping'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const forward = eventForwarder(job, { host, worker: id });
    const jobStartedAt = new Date();
    options.say(`${label}: started (try ${job.attemptsStarted}, key ${data.key.slice(0, 12)})`);
    try {
      const file = resolve(options.workspace, data.pipelineFile);
      // Whoever can write the queue names the file: only pipelines of this checkout are run.
      if (!isInside(file, options.workspace)) throw new ConfigError([{ where: data.pipelineFile, message: `the job names a pipeline outside this worker's workspace ${options.workspace}; refused` }]);
      const pipeline = await loadPipeline(file, { workspace: options.workspace, overrides: [...data.overrides] });
      const result = await runStageJob(pipeline, data, { workspace: options.workspace, remote: options.remote, executor, signal: abort.signal, onEvent: forward.push });
      await forward.flush();
      options.say(`${label}: ${result.reused ? 'already computed' : `done in ${result.seconds.run.toFixed(1)} s`}`);
      return {
        key: data.key,
        host,
        worker: id,
        reused: result.reused,
        metrics: result.metrics,
        ...(result.peakRssBytes !== undefined ? { peakRssBytes: result.peakRssBytes } : {}),
        startedAt: jobStartedAt.toISOString(),
        seconds: result.seconds,
      };
    } catch (err) {
      await forward.flush().catch(() => undefined);
      const message = `on ${host} (worker ${id}): ${describeError(err)}`;
      options.say(`${label}: failed: ${describeError(err).split('\n')[0]}`);
      // Retrying cannot help when the machines disagree, the pipeline does not load, or the runner gave up.
      if (err instanceof KeyMismatchError || err instanceof ConfigError || cancelledByRunner.has(jobId)) throw new UnrecoverableError(message);
      throw new Error(message);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      running.delete(jobId);
      cancelledByRunner.delete(jobId);
      void heartbeat();
    }
  };

  const worker = new Worker<StageJobData, StageJobReturn>(QUEUE, processor, {
    prefix: PREFIX,
    connection: connectionOptions(options.redisUrl, true),
    concurrency: options.concurrency,
    lockDuration: options.stallSeconds * 1000,
    stalledInterval: Math.max(1000, (options.stallSeconds * 1000) / 2),
    // A job whose worker died twice is still worth a third machine.
    maxStalledCount: 2,
  });
  let lastError = '';
  worker.on('error', (err) => {
    if (err.message !== lastError) options.say(`Redis at ${redactRedisUrl(options.redisUrl)}: ${err.message} (retrying)`);
    lastError = err.message;
  });
  worker.on('ready', () => {
    if (lastError) options.say(`Redis at ${redactRedisUrl(options.redisUrl)}: connected again`);
    lastError = '';
  });
  worker.on('stalled', (jobId) => options.say(`job ${jobId}: its worker stopped answering; queued again`));

  await subscriber.subscribe(CANCEL_CHANNEL);
  subscriber.on('message', (_channel: string, jobId: string) => {
    if (!running.has(jobId)) return;
    cancelledByRunner.add(jobId);
    options.say(`job ${jobId}: cancelled by its runner; aborting the stage`);
    worker.cancelJob(jobId, 'cancelled by the runner');
  });

  const heartbeat = () => client.set(workerKey(id), JSON.stringify(info()), 'EX', WORKER_TTL_SECONDS).catch(() => undefined);
  const beat = setInterval(() => void heartbeat(), 5000);
  await heartbeat();
  await worker.waitUntilReady();
  options.say(`worker ${id} ready: ${options.concurrency} at a time, ${options.cpu} cpu, workspace ${options.workspace}, Redis ${redactRedisUrl(options.redisUrl)}${options.remote ? `, ${options.remote.description}` : ', no remote cache (runners must share this workspace)'}`);

  return {
    id,
    close: async (abortRunning) => {
      if (abortRunning) worker.cancelAllJobs('the worker is stopping');
      await worker.close(abortRunning);
      clearInterval(beat);
      await client.del(workerKey(id)).catch(() => undefined);
      await Promise.all([client.quit(), subscriber.quit()]).catch(() => undefined);
    },
  };
}

/** Buffers a job's stage events and sends them as one progress update every FLUSH_MS. */
function eventForwarder(job: Job, who: Omit<ProgressMessage, 'events'>) {
  let buffer: ForwardedEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (buffer.length) {
      const events = buffer;
      buffer = [];
      const message: ProgressMessage = { ...who, events };
      sending = sending.then(() => job.updateProgress(message as unknown as object)).catch(() => undefined);
    }
    return sending;
  };
  return {
    push: (event: RunEvent) => {
      if (!isForwarded(event)) return;
      // Only the latest progress line matters; logs and epochs are all kept.
      if (event.event === 'stage-progress') buffer = buffer.filter((e) => e.event !== 'stage-progress');
      buffer.push(event);
      timer ??= setTimeout(() => void flush(), FLUSH_MS);
    },
    flush,
  };
}
