/**
 * The runner's side of distributed execution: each stage the engine must compute becomes
 * one BullMQ job, enqueued when its inputs are ready (the engine's own DAG decides when,
 * not a BullMQ flow). A worker computes it and uploads the result to the remote cache;
 * this side waits, streams the worker's progress and logs into the run's events, and
 * takes the result from the remote into the local store.
 *
 * Nothing waits for ever: job states are polled beside the event stream (a restarted,
 * emptied Redis loses both jobs and events: lost jobs are queued again), and a Redis out
 * of reach for longer than `redisTimeoutMs` fails every waiting stage with its URL.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { ingredientFingerprint } from '../engine/keys.js';
import { fetchResult, type RemoteCache } from '../engine/remote-cache.js';
import type { StageExecutor, StageOutcome, StageTask } from '../engine/stage-executor.js';
import { CancelledError, UserInputError } from '../errors.js';
import { commandClient, connectionOptions, connectOrExplain, watchHealth, withDeadline } from './connection.js';
import { CANCEL_CHANNEL, CANCEL_TTL_SECONDS, cancelKey, PREFIX, QUEUE, RUNNER_TTL_SECONDS, runnerKey, type ProgressMessage, type StageJobData, type StageJobReturn } from './protocol.js';
import { randomBytes } from 'node:crypto';
import { redactRedisUrl } from './redis-url.js';
import { isInside } from '../util/paths.js';

export interface BullmqExecutorOptions {
  redisUrl: string;
  workspace: string;
  /** Where workers upload results; without one, runner and workers must share the workspace folder. */
  remote?: RemoteCache;
  /** Tries per stage (a failure or a lost worker) before the stage fails; default 3. */
  attempts?: number;
  /** First retry delay, doubled each time; default 1 s. */
  backoffMs?: number;
  /** How long Redis may be out of reach before the run fails; default 20 s. */
  redisTimeoutMs?: number;
}

interface Pending {
  jobId: string;
  data: StageJobData;
  task: StageTask;
  resolve: (value: StageJobReturn) => void;
  reject: (err: Error) => void;
}

const POLL_MS = 1000;

export class BullmqExecutor implements StageExecutor {
  readonly kind = 'bullmq';
  private readonly pending = new Map<string, Pending>();
  private broken: Error | undefined;
  private peakDepth = 0;
  private enqueued = 0;
  private readonly poller: NodeJS.Timeout;
  private readonly health: { stop(): void };
  private polling = false;
  private readonly cancels = new Set<Promise<void>>();
  private readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly beat: NodeJS.Timeout;

  private constructor(
    private readonly options: BullmqExecutorOptions,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly client: Redis,
  ) {
    events.on('progress', ({ jobId, data }) => this.onProgress(jobId, data as unknown as ProgressMessage));
    events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, { state: 'completed', value: parseReturn(returnvalue) }));
    events.on('failed', ({ jobId, failedReason }) => void this.checkFailed(jobId, failedReason));
    events.on('error', () => undefined);
    queue.on('error', () => undefined);
    this.poller = setInterval(() => void this.poll(), POLL_MS);
    this.poller.unref();
    this.health = watchHealth(client, {
      timeoutMs: options.redisTimeoutMs ?? 20_000,
      onLost: (downMs, lastError) => this.fail(new UserInputError(
        `lost the connection to Redis at ${this.url} for ${Math.round(downMs / 1000)} s (${lastError}); ` +
        `the stages queued or running there did not finish. Check that Redis is up and rerun: finished stages are cached.`,
      )),
      onBack: () => void this.heartbeat().then(() => this.poll()),
    });
    this.beat = setInterval(() => void this.heartbeat(), 5000);
    this.beat.unref();
  }

  /** Workers drop jobs whose runner has no live entry. */
  private heartbeat(): Promise<unknown> {
    return this.client.set(runnerKey(this.id), '1', 'EX', RUNNER_TTL_SECONDS).catch(() => undefined);
  }

  /** Connects to Redis (or fails saying it cannot reach it) and starts listening before any job is sent. */
  static async connect(options: BullmqExecutorOptions): Promise<BullmqExecutor> {
    const client = commandClient(options.redisUrl, true);
    await connectOrExplain(client, options.redisUrl);
    const queue = new Queue(QUEUE, { prefix: PREFIX, connection: connectionOptions(options.redisUrl, false) });
    const events = new QueueEvents(QUEUE, { prefix: PREFIX, connection: connectionOptions(options.redisUrl, true) });
    const url = redactRedisUrl(options.redisUrl);
    await withDeadline(Promise.all([queue.waitUntilReady(), events.waitUntilReady()]), 10_000, () => `Redis at ${url} did not answer within 10 s`);
    const executor = new BullmqExecutor(options, queue, events, client);
    await executor.heartbeat();
    return executor;
  }

  private get url(): string {
    return redactRedisUrl(this.options.redisUrl);
  }

  describe(): Record<string, unknown> {
    return { redis: this.url, queue: `${PREFIX}:${QUEUE}`, jobs: this.enqueued, peakQueueDepth: this.peakDepth, ...(this.options.remote ? { remote: this.options.remote.description } : {}) };
  }

  async run(task: StageTask): Promise<StageOutcome> {
    if (this.broken) throw this.broken;
    const { stage, signal } = task;
    if (!isInside(task.pipeline.file, task.workspace)) {
      throw new UserInputError(`${task.pipeline.file} is outside the workspace ${task.workspace}: workers find the pipeline by its path in the workspace, so keep it inside`);
    }
    const inputKeys = Object.fromEntries(Object.values(stage.inputs).map((ref) => [ref.stage, task.upstream.get(ref.stage)!.key]));
    const data: StageJobData = {
      pipelineFile: relative(task.workspace, task.pipeline.file),
      overrides: task.pipeline.overrides,
      stage: stage.name,
      key: task.key,
      inputKeys,
      force: task.forced,
      fingerprint: ingredientFingerprint(task.keyIngredients),
      runId: task.runId,
      runner: { host: hostname(), pid: process.pid, id: this.id },
    };
    const jobId = `${task.runId}-${stage.name}`;
    await this.shareInputs(task, inputKeys);
    signal.throwIfAborted();
    const result = new Promise<StageJobReturn>((resolve, reject) => this.pending.set(jobId, { jobId, data, task, resolve, reject }));
    // Settled (cancelled, Redis lost) perhaps before it is awaited below.
    result.catch(() => undefined);
    const onAbort = () => {
      const cancelling = this.cancel(jobId);
      this.cancels.add(cancelling);
      void cancelling.finally(() => this.cancels.delete(cancelling));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.enqueue(jobId, data);
      const depth = await this.queue.getWaitingCount().catch(() => 0);
      this.peakDepth = Math.max(this.peakDepth, depth);
      task.emit({ event: 'stage-progress', stage: stage.name, message: `queued for a worker (${depth} waiting in ${this.url})` });
      const done = await result;
      return await this.collect(task, jobId, done);
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.pending.delete(jobId);
    }
  }

  /**
   * Inputs this runner found in its own store (cached before, or computed here) may be missing
   * from the remote the worker fetches from: upload them first (what the remote has is skipped).
   */
  private async shareInputs(task: StageTask, inputKeys: Record<string, string>): Promise<void> {
    const remote = this.options.remote;
    if (!remote) return;
    for (const key of new Set(Object.values(inputKeys))) {
      if (!remote.writable) break;
      await remote.publish(key, task.store, { signal: task.signal, onProgress: (message) => task.emit({ event: 'stage-progress', stage: task.stage.name, message: `sharing inputs: ${message}` }) });
    }
  }

  private async enqueue(jobId: string, data: StageJobData): Promise<void> {
    await withDeadline(this.queue.add('stage', data, {
      jobId,
      attempts: this.options.attempts ?? 3,
      backoff: { type: 'exponential', delay: this.options.backoffMs ?? 1000 },
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 24 * 3600 },
    }), 10_000, () => `could not queue stage "${data.stage}" in Redis at ${this.url} within 10 s`);
    this.enqueued++;
  }

  /** The worker's result, taken into the local store (from the remote, or the shared workspace). */
  private async collect(task: StageTask, jobId: string, done: StageJobReturn): Promise<StageOutcome> {
    const { store, key, stage } = task;
    if (done.key !== key) throw new UserInputError(`the worker ${done.worker} answered for key ${done.key.slice(0, 12)}, not ${key.slice(0, 12)}`);
    let manifest = await store.lookup(key);
    if (!manifest && this.options.remote) {
      task.emit({ event: 'stage-progress', stage: stage.name, message: `fetching the result from ${this.options.remote.description}` });
      manifest = await fetchResult(this.options.remote, key, store, { signal: task.signal });
    }
    if (!manifest) {
      throw new UserInputError(this.options.remote
        ? `stage "${stage.name}" ran on ${done.host} (${done.worker}) but its result ${key.slice(0, 12)} is not in ${this.options.remote.description}`
        : `stage "${stage.name}" ran on ${done.host} (${done.worker}) but its result is not in ${task.workspace}: runner and workers on different machines need a shared remote cache (--remote)`);
    }
    const job = await Job.fromId(this.queue, jobId).catch(() => undefined);
    return {
      manifest,
      metrics: done.metrics,
      ...(done.peakRssBytes !== undefined ? { peakRssBytes: done.peakRssBytes } : {}),
      placement: {
        host: done.host,
        worker: done.worker,
        attempts: Math.max(1, job?.attemptsStarted ?? 1),
        queuedSeconds: job?.processedOn && job.timestamp ? Math.max(0, (job.processedOn - job.timestamp) / 1000) : 0,
        ...(done.reused ? { reused: true } : {}),
      },
    };
  }

  private onProgress(jobId: string, message: ProgressMessage): void {
    const p = this.pending.get(jobId);
    if (!p || !message || !Array.isArray(message.events)) return;
    const { task } = p;
    for (const event of message.events) {
      if (event.stage !== task.stage.name) continue;
      if (event.event === 'stage-start') {
        task.emit({ ...event, reason: `${task.reason}; on ${message.host} (worker ${message.worker})` });
      } else {
        if (event.event === 'stage-epoch') task.curve.push({ ...event.metrics, epoch: event.epoch });
        task.emit(event);
      }
      if (event.event === 'stage-log') {
        void mkdir(task.logDir, { recursive: true })
          .then(() => appendFile(join(task.logDir, 'stage.log'), `${new Date().toISOString()} ${event.level} [${message.host} ${message.worker}] ${event.message}\n`))
          .catch(() => undefined);
      }
    }
  }

  private settle(jobId: string, outcome: { state: 'completed'; value: StageJobReturn | undefined } | { state: 'failed'; reason: string }): void {
    const p = this.pending.get(jobId);
    // A completion read without its value is left for the next poll to read again.
    if (!p || (outcome.state === 'completed' && !outcome.value)) return;
    this.pending.delete(jobId);
    if (outcome.state === 'failed') p.reject(new UserInputError(outcome.reason));
    else if (outcome.value) p.resolve(outcome.value);
  }

  /** The 'failed' event also fires for a try that will be retried: only a job in the failed set has failed. */
  private async checkFailed(jobId: string, reason: string): Promise<void> {
    const p = this.pending.get(jobId);
    if (!p) return;
    const state = await this.queue.getJobState(jobId).catch(() => undefined);
    const job = await Job.fromId(this.queue, jobId).catch(() => undefined);
    if (state === 'failed') this.settle(jobId, { state: 'failed', reason: job?.failedReason || reason });
    else p.task.emit({ event: 'stage-log', stage: p.task.stage.name, level: 'warn', message: `try ${job?.attemptsMade ?? '?'} failed, retrying: ${reason.split('\n')[0]}` });
  }

  /** Missed events (a reconnect) and lost jobs (Redis restarted empty) are found here. */
  private async poll(): Promise<void> {
    if (this.polling || this.broken || !this.pending.size) return;
    this.polling = true;
    try {
      for (const p of [...this.pending.values()]) {
        // The state first, then the job: a job read before it finished carries no return value.
        const state = await this.queue.getJobState(p.jobId);
        if (!this.pending.has(p.jobId)) continue;
        if (state === 'unknown') {
          if (p.task.signal.aborted) continue;
          p.task.emit({ event: 'stage-log', stage: p.task.stage.name, level: 'warn', message: `its job vanished from Redis at ${this.url} (did Redis restart empty?); queued again` });
          await this.heartbeat();
          await this.enqueue(p.jobId, p.data);
          continue;
        }
        if (state !== 'completed' && state !== 'failed') continue;
        const job = await Job.fromId<StageJobData, StageJobReturn>(this.queue, p.jobId);
        if (!job) continue;
        if (state === 'completed') this.settle(p.jobId, { state: 'completed', value: parseReturn(job.returnvalue) });
        else this.settle(p.jobId, { state: 'failed', reason: job.failedReason });
      }
    } catch {
      // Redis is out of reach: the health watch decides when that fails the run.
    } finally {
      this.polling = false;
    }
  }

  /** Ctrl-C: a queued job is removed; a running one is told to abort its stage on its worker. */
  private async cancel(jobId: string): Promise<void> {
    const p = this.pending.get(jobId);
    if (!p) return;
    this.pending.delete(jobId);
    p.reject(new CancelledError());
    await withDeadline((async () => {
      await this.client.set(cancelKey(jobId), '1', 'EX', CANCEL_TTL_SECONDS);
      const removed = await this.queue.remove(jobId).catch(() => 0);
      if (!removed) await this.client.publish(CANCEL_CHANNEL, jobId);
    })(), 3000, () => 'cancel timed out').catch(() => undefined);
  }

  private fail(err: Error): void {
    this.broken = err;
    for (const p of [...this.pending.values()]) {
      this.pending.delete(p.jobId);
      p.reject(err);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.cancels);
    clearInterval(this.beat);
    await withDeadline(this.client.del(runnerKey(this.id)), 1000, () => '').catch(() => undefined);
    clearInterval(this.poller);
    this.health.stop();
    // Closing politely needs Redis; when it is gone, drop the connections instead of waiting.
    const polite = Promise.all([this.events.close(), this.queue.close(), this.client.quit()]);
    await withDeadline(polite, 2000, () => 'close timed out').catch(async () => {
      this.client.disconnect();
      // BullMQ's disconnect may never settle without Redis; bounded, so the run still ends with its own exit code.
      await withDeadline(Promise.all([this.events.disconnect(), this.queue.disconnect()]), 1000, () => 'disconnect timed out').catch(() => undefined);
    });
  }
}

function parseReturn(value: unknown): StageJobReturn | undefined {
  return ((typeof value === 'string' ? JSON.parse(value) : value) ?? undefined) as StageJobReturn | undefined;
}
