/**
 * One stage of a pipeline, computed on behalf of a runner elsewhere (a worker): the
 * pipeline is resolved here from the same file and overrides, the inputs come from the
 * local store or the remote cache, and the key must come out as the runner computed it,
 * or the code or data differ between the machines and the result would be a lie.
 */
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { ResolvedPipeline } from './config.js';
import type { EventSink } from './events.js';
import { ingredientFingerprint, KeyCalculator, keyOf, recordedIngredients, resolvePipelineEnvironments } from './keys.js';
import { Leases } from './leases.js';
import { fetchResult, type RemoteCache } from './remote-cache.js';
import type { StageExecutor } from './stage-executor.js';
import type { EpochMetrics } from './stage-api.js';
import { ArtifactStore, type Manifest } from './store.js';
import { workspacePaths } from './workspace.js';
import { UserInputError, throwIfCancelled } from '../errors.js';
import { uniqueSuffix } from '../util/fs.js';

/** What a runner asks of a worker: everything needed to compute the same stage. */
export interface StageJobSpec {
  /** The pipeline file, relative to the workspace (the same checkout on every machine). */
  pipelineFile: string;
  overrides: readonly string[];
  stage: string;
  /** The key the runner computed. */
  key: string;
  /** Keys of the upstream stages whose outputs this stage reads, by stage name. */
  inputKeys: Record<string, string>;
  /** The runner was told to recompute it (`--force`): results found elsewhere are not reused. */
  force: boolean;
  /** ingredientFingerprint() of the runner's ingredients, to name what differs on a mismatch. */
  fingerprint: Record<string, string>;
  runId: string;
}

export interface StageJobResult {
  manifest: Manifest;
  metrics: Record<string, number>;
  peakRssBytes?: number;
  /** True when the result was already here or in the remote: nothing was computed. */
  reused: boolean;
  seconds: { fetch: number; run: number; publish: number };
}

export interface StageJobOptions {
  workspace: string;
  remote?: RemoteCache;
  executor: StageExecutor;
  signal: AbortSignal;
  onEvent: EventSink;
}

/** The key a runner and a worker disagree on: the message names the fields that differ. */
export class KeyMismatchError extends UserInputError {
  override name = 'KeyMismatchError';
}

export async function runStageJob(pipeline: ResolvedPipeline, spec: StageJobSpec, options: StageJobOptions): Promise<StageJobResult> {
  const stage = pipeline.stages.get(spec.stage);
  if (!stage) throw new KeyMismatchError(`${spec.pipelineFile} has no stage "${spec.stage}" on ${hostname()}: check out the runner's commit in ${options.workspace}`);
  const store = new ArtifactStore(workspacePaths(options.workspace).artifacts);
  const leases = new Leases(store.root);
  const lease = await leases.open(`job-${spec.runId}-${spec.stage}-${uniqueSuffix()}`);
  const t0 = performance.now();
  const since = (t: number) => (performance.now() - t) / 1000;
  try {
    lease.hold(spec.key);
    const results = new Map<string, Manifest>();
    for (const [upstream, key] of Object.entries(spec.inputKeys)) {
      lease.hold(key);
      await leases.waitForDeleter(options.signal);
      results.set(upstream, await localOrRemote(store, key, options, `input "${upstream}" of stage "${spec.stage}"`));
    }
    const fetchSeconds = since(t0);
    const environments = await resolvePipelineEnvironments(pipeline);
    const keys = new KeyCalculator(options.workspace, store, environments);
    const ingredients = await keys.ingredients(stage, results);
    await keys.save().catch(() => undefined);
    const key = keyOf(ingredients);
    if (key !== spec.key) throw mismatch(spec, key, ingredientFingerprint(ingredients), options.workspace);

    const existing = spec.force ? undefined : await localOrFetched(store, key, options);
    if (existing) return { manifest: existing, metrics: existing.metrics, reused: true, seconds: { fetch: fetchSeconds, run: 0, publish: 0 } };

    throwIfCancelled(options.signal);
    const t1 = performance.now();
    const curve: EpochMetrics[] = [];
    const outcome = await options.executor.run({
      pipeline,
      stage,
      key,
      reason: `sent by run ${spec.runId}`,
      forced: spec.force,
      ingredients: recordedIngredients(stage, ingredients),
      keyIngredients: ingredients,
      upstream: results,
      environment: keys.environmentOf(stage),
      workspace: options.workspace,
      store,
      runId: spec.runId,
      logDir: join(workspacePaths(options.workspace).runs, spec.runId, spec.stage),
      signal: options.signal,
      emit: options.onEvent,
      curve,
      seconds: () => since(t1),
    });
    const runSeconds = since(t1);
    const t2 = performance.now();
    if (options.remote) {
      if (!options.remote.writable) throw new UserInputError(`${options.remote.description} is read-only here: a worker must be able to upload what it computes`);
      await options.remote.publish(key, store, { signal: options.signal });
    }
    return { manifest: outcome.manifest, metrics: outcome.metrics, peakRssBytes: outcome.peakRssBytes, reused: false, seconds: { fetch: fetchSeconds, run: runSeconds, publish: since(t2) } };
  } finally {
    await lease.release();
  }
}

/** The result for `key` from the local store, else from the remote (downloaded into the store). */
async function localOrFetched(store: ArtifactStore, key: string, options: StageJobOptions): Promise<Manifest | undefined> {
  return (await store.lookup(key)) ?? (options.remote ? fetchResult(options.remote, key, store, { signal: options.signal }) : undefined);
}

async function localOrRemote(store: ArtifactStore, key: string, options: StageJobOptions, what: string): Promise<Manifest> {
  const found = await localOrFetched(store, key, options);
  if (found) return found;
  if (!options.remote) {
    throw new UserInputError(`${what} (key ${key.slice(0, 12)}) is not in the store of ${options.workspace} on ${hostname()}, and this worker has no remote cache to fetch it from: start it with --remote <name>, the remote the runner uses`);
  }
  throw new UserInputError(`${what} (key ${key.slice(0, 12)}) is neither in ${options.workspace} on ${hostname()} nor in ${options.remote.description}: the runner publishes results there; check that runner and worker use the same remote`);
}

function mismatch(spec: StageJobSpec, key: string, here: Record<string, string>, workspace: string): KeyMismatchError {
  const fields = [...new Set([...Object.keys(here), ...Object.keys(spec.fingerprint)])].filter((f) => here[f] !== spec.fingerprint[f]);
  const what = fields.map((f) => ({ code: 'the stage code', params: 'the params', files: 'the data files', inputs: 'the input digests' }[f] ?? `"${f}"`));
  return new KeyMismatchError(
    `stage "${spec.stage}" of ${spec.pipelineFile}: this worker (${hostname()}, ${workspace}) computes key ${key.slice(0, 12)} but the runner expected ${spec.key.slice(0, 12)}; ` +
    `${what.length ? what.join(', ') : 'the ingredients'} differ between the two machines. Run the worker on the runner's commit, with the same data and backend (restart a worker after updating its checkout: it keeps the stage code it loaded).`,
  );
}
