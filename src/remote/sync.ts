/**
 * `inkflow push` and `pull`: a pipeline's or a run's results between the local store
 * and a remote, reported as stage events (so the run reporters draw them: one line or
 * task per stage, a progress bar while it moves). Every key a transfer touches is held
 * in a lease first, so a concurrent `inkflow gc` never removes what is being moved.
 */
import pLimit from 'p-limit';
import type { ResolvedPipeline } from '../engine/config.js';
import { dependencyMap, topologicalOrder } from '../engine/dag.js';
import type { EventSink } from '../engine/events.js';
import { KeyCalculator, keyOf, resolvePipelineEnvironments } from '../engine/keys.js';
import { Leases, type Lease } from '../engine/leases.js';
import { planPipeline } from '../engine/plan.js';
import { findRun, newRunId } from '../engine/run-record.js';
import { ArtifactStore, type Manifest } from '../engine/store.js';
import { workspacePaths } from '../engine/workspace.js';
import { RemoteUnavailableError } from '../engine/remote-cache.js';
import { CancelledError, describeError } from '../errors.js';
import type { S3RemoteCache } from './s3-cache.js';

export interface SyncItem {
  stage: string;
  /** Undefined when the stage's key cannot be known (an upstream result is missing). */
  key?: string;
  /** Why there is nothing to move for this stage. */
  unavailable?: string;
}

export interface SyncTarget {
  /** The pipeline name results are linked under (`artifacts/<pipeline>/<stage>`). */
  pipeline: string;
  items: SyncItem[];
}

export interface SyncCounts {
  moved: number;
  present: number;
  unavailable: number;
  failed: number;
}

interface SyncContext {
  workspace: string;
  /** Set by the first transfer that finds the remote unusable: the rest are not tried. */
  unavailable?: boolean;
  remote: S3RemoteCache;
  emit: EventSink;
  signal?: AbortSignal;
  /** Results moved at once (each moves its files several at once too). */
  jobs?: number;
}

/** The stages of a recorded run that have a result. */
export async function runTarget(workspace: string, ref: string): Promise<SyncTarget> {
  const run = await findRun(workspacePaths(workspace).runs, ref);
  return {
    pipeline: run.pipeline,
    items: Object.entries(run.stages).map(([stage, record]) => (record.key && (record.status === 'ran' || record.status === 'cached')
      ? { stage, key: record.key }
      : { stage, unavailable: `no result in run ${run.runId} (${record.status})` })),
  };
}

/** What a pipeline's stages are now, as far as the local store knows their keys. */
export async function pipelinePushTarget(pipeline: ResolvedPipeline, workspace: string): Promise<SyncTarget> {
  const plans = await planPipeline(pipeline, workspace);
  return {
    pipeline: pipeline.name,
    items: plans.map((p) => (p.state === 'cached' && p.key ? { stage: p.stage, key: p.key } : { stage: p.stage, unavailable: 'not in the local store; run the pipeline first' })),
  };
}

export async function push(target: SyncTarget, context: SyncContext): Promise<SyncCounts> {
  return transferAll(target, context, async (item, key, store) => {
    if ((await store.check(key)).state !== 'hit') return 'not in the local store (removed by gc, or damaged: see `inkflow verify`)';
    const sent = await context.remote.upload(key, store, { signal: context.signal, onProgress: (message) => context.emit({ event: 'stage-progress', stage: item.stage, message }) });
    return sent.bytes === 0 ? 'already on the remote' : undefined;
  });
}

/** Downloads a run's results (their keys are in its record) and links them under `artifacts/<pipeline>/`. */
export async function pullKeys(target: SyncTarget, context: SyncContext): Promise<SyncCounts> {
  return transferAll(target, context, async (item, key, store) => {
    const present = (await store.check(key)).state === 'hit';
    if (!present && !(await fetchInto(store, key, item.stage, context))) return 'not on the remote';
    await store.link(target.pipeline, item.stage, key);
    return present ? 'already in the local store' : undefined;
  });
}

/**
 * Moves every item of `target`, `jobs` at a time, holding each key in a lease on the
 * local store so gc leaves it alone; `move` says why an item was not moved, if it was not.
 */
async function transferAll(target: SyncTarget, context: SyncContext, move: (item: SyncItem, key: string, store: ArtifactStore) => Promise<string | undefined>): Promise<SyncCounts> {
  const store = new ArtifactStore(workspacePaths(context.workspace).artifacts);
  return withLease(store, context.signal, async (lease) => {
    const counts: SyncCounts = { moved: 0, present: 0, unavailable: 0, failed: 0 };
    const limit = pLimit(context.jobs ?? 4);
    await Promise.all(target.items.map((item) => limit(() => transfer(item, counts, context, (key) => {
      lease.hold(key);
      return move(item, key, store);
    }))));
    return counts;
  });
}

/**
 * Downloads a pipeline's results as they are for its current files and params. A stage's
 * key depends on its upstream results, so stages go in dependency order, each once its
 * upstream results are here; a stage behind one the remote lacks cannot be looked up.
 */
export async function pullPipeline(pipeline: ResolvedPipeline, context: SyncContext): Promise<SyncCounts> {
  const store = new ArtifactStore(workspacePaths(context.workspace).artifacts);
  const keys = new KeyCalculator(context.workspace, store, await resolvePipelineEnvironments(pipeline));
  const deps = dependencyMap(pipeline);
  const order = topologicalOrder(deps);
  const results = new Map<string, Manifest>();
  const done = new Map<string, Promise<void>>();
  const counts: SyncCounts = { moved: 0, present: 0, unavailable: 0, failed: 0 };
  const limit = pLimit(context.jobs ?? 4);
  await withLease(store, context.signal, async (lease) => {
    for (const name of order) {
      const upstream = deps.get(name) ?? [];
      done.set(name, Promise.all(upstream.map((d) => done.get(d))).then(() => limit(async () => {
        const missing = upstream.find((d) => !results.has(d));
        const stage = pipeline.stages.get(name);
        if (missing || !stage) {
          await transfer({ stage: name, unavailable: `upstream "${missing}" is not here, so this stage's key is not known` }, counts, context, async () => undefined);
          return;
        }
        let key: string;
        try {
          key = keyOf(await keys.ingredients(stage, results));
        } catch (err) {
          await transfer({ stage: name, unavailable: describeError(err) }, counts, context, async () => undefined);
          return;
        }
        await transfer({ stage: name, key }, counts, context, async () => {
          lease.hold(key);
          let found = await store.check(key);
          const present = found.state === 'hit';
          if (!present && await fetchInto(store, key, name, context)) found = await store.check(key);
          if (found.state !== 'hit') return 'not on the remote';
          results.set(name, found.manifest);
          await store.link(pipeline.name, name, key);
          return present ? 'already in the local store' : undefined;
        });
      })));
    }
    await Promise.all(done.values());
  });
  await keys.save().catch(() => undefined);
  return counts;
}

async function fetchInto(store: ArtifactStore, key: string, stage: string, context: SyncContext): Promise<boolean> {
  return context.remote.fetch(key, store, { signal: context.signal, onProgress: (message) => context.emit({ event: 'stage-progress', stage, message }) });
}

/**
 * One stage's transfer as events: `move` resolves undefined when it moved the result,
 * or a reason when there was nothing to move (already there, or not available).
 */
async function transfer(item: SyncItem, counts: SyncCounts, context: SyncContext, move: (key: string) => Promise<string | undefined>): Promise<void> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  if (item.key === undefined) {
    counts.unavailable++;
    context.emit({ event: 'stage-end', stage: item.stage, status: 'skipped', seconds: 0, reason: item.unavailable ?? 'no result' });
    return;
  }
  if (context.signal?.aborted || context.unavailable) {
    if (context.unavailable) counts.failed++;
    context.emit({ event: 'stage-end', stage: item.stage, status: 'skipped', key: item.key, seconds: 0, reason: context.unavailable ? 'not tried: the remote cannot be used (see above)' : 'cancelled' });
    return;
  }
  try {
    context.emit({ event: 'stage-start', stage: item.stage, key: item.key, reason: 'transferring' });
    const nothingMoved = await move(item.key);
    if (nothingMoved === undefined) counts.moved++;
    else if (nothingMoved.startsWith('already')) counts.present++;
    else counts.unavailable++;
    context.emit({ event: 'stage-end', stage: item.stage, key: item.key, seconds: seconds(), ...(nothingMoved === undefined ? { status: 'ran' } : { status: 'skipped', reason: nothingMoved }) });
  } catch (err) {
    counts.failed++;
    const cancelled = context.signal?.aborted || err instanceof CancelledError;
    if (err instanceof RemoteUnavailableError) context.unavailable = true;
    context.emit({ event: 'stage-end', stage: item.stage, key: item.key, seconds: seconds(), status: cancelled ? 'skipped' : 'failed', ...(cancelled ? { reason: 'cancelled' } : { error: describeError(err) }) });
  }
}

async function withLease<T>(store: ArtifactStore, signal: AbortSignal | undefined, work: (lease: Lease) => Promise<T>): Promise<T> {
  const leases = new Leases(store.root);
  const lease = await leases.open(newRunId());
  try {
    await leases.waitForDeleter(signal);
    return await work(lease);
  } finally {
    await lease.release();
  }
}
