/**
 * Runs a resolved pipeline: stage keys are computed as upstream results become
 * known, cache hits are linked, misses run in a staging directory and are published.
 * `--dry-run` asks src/engine/plan.ts instead, the same answer `inkflow status` gives.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGraph } from 'p-graph';
import type { ResolvedPipeline, ResolvedStage } from './config.js';
import { dependencyMap, topologicalOrder } from './dag.js';
import type { EventSink, StageSummary } from './events.js';
import { environmentKeys } from './environment.js';
import { KeyCalculator, keyOf, recordedIngredients, resolvePipelineEnvironments } from './keys.js';
import { planPipeline } from './plan.js';
import { writeRunRecord, newRunId, type ExperimentTag, type StageRecord } from './run-record.js';
import { acquireLock } from './locks.js';
import { ResourceLedger } from './resources.js';
import type { EpochMetrics } from './stage-api.js';
import { selectStages, type Selection, type SelectionOptions } from './selection.js';
import { makeContext, sampleMemory } from './stage-context.js';
import { ArtifactStore, changedInputs, type Manifest } from './store.js';
import { Leases, type Lease } from './leases.js';
import { RemoteRunSync, type RemoteCache } from './remote-cache.js';
import { describeIoError } from '../util/fs.js';
import { workspacePaths } from './workspace.js';
import { InternalError, UserInputError, describeError, throwIfCancelled } from '../errors.js';

export interface RunOptions extends SelectionOptions {
  workspace: string;
  dryRun?: boolean;
  /** Re-hash every file of a cached result before trusting it (a cache hit otherwise checks sizes and stamps). */
  verifyCache?: boolean;
  concurrency?: number;
  signal?: AbortSignal;
  onEvent: EventSink;
  /** Extra fields for the run record (e.g. that a schedule started it). */
  trigger?: string;
  /** The experiment this run is a variant of, recorded in the run record. */
  experiment?: ExperimentTag;
  /** A shared cache: stages missing locally are fetched from it, and results computed here uploaded when it is writable. */
  remote?: RemoteCache;
}

/** Abort a run with this reason to stop it on purpose (early termination): the record says why, and it is not "cancelled". */
export class RunStop extends Error {
  override name = 'RunStop';
}

export interface RunResult {
  ok: boolean;
  cancelled: boolean;
  /** Why the run was stopped on purpose (see RunStop). */
  stopped?: string;
  runId: string;
  stages: Record<string, StageSummary>;
  /** A run-level problem, such as a run record that could not be written. */
  error?: string;
}

/** Stage records and summaries of one run, with the stage-end event each one emits. */
class RunLedger {
  readonly records: Record<string, StageRecord> = {};
  readonly summaries: Record<string, StageSummary> = {};
  /** Per-epoch metrics each stage reported, kept in its record even when it failed or was stopped. */
  readonly curves = new Map<string, EpochMetrics[]>();

  constructor(private readonly emit: EventSink) {}

  finish(name: string, record: StageRecord): void {
    const curve = this.curves.get(name);
    if (curve?.length) record.epochs = curve;
    this.records[name] = { ...record, startedAt: new Date(Date.now() - record.seconds * 1000).toISOString() };
    const source = record.source ? { source: record.source } : {};
    this.summaries[name] = { status: record.status, key: record.key ?? '', seconds: record.seconds, ...source };
    this.emit({ event: 'stage-end', stage: name, status: record.status, key: record.key, seconds: record.seconds, error: record.error, reason: record.reason, ...source });
  }

  allSucceeded(allowSkipped: boolean): boolean {
    return Object.values(this.records).every((r) => r.status === 'ran' || r.status === 'cached' || (allowSkipped && r.status === 'skipped'));
  }
}

export async function runPipeline(pipeline: ResolvedPipeline, options: RunOptions): Promise<RunResult> {
  const selection = selectStages(pipeline, options);
  const environments = await resolvePipelineEnvironments(pipeline);
  const runId = newRunId();
  const emit = options.onEvent;
  emit({ event: 'run-start', runId, pipeline: pipeline.name, stages: [...selection.selected], environment: environmentKeys(environments) });
  const ledger = new RunLedger(emit);
  const startedAt = new Date();

  let lease: Lease | undefined;
  if (options.dryRun) {
    await reportPlan(pipeline, options.workspace, selection, ledger);
  } else {
    const paths = workspacePaths(options.workspace);
    const store = new ArtifactStore(paths.artifacts);
    const leases = new Leases(store.root);
    lease = await leases.open(runId);
    const keys = new KeyCalculator(options.workspace, store, environments);
    const remote = options.remote ? new RemoteRunSync(options.remote, store, emit, options.signal) : undefined;
    const runStage = stageRunner({ pipeline, options, selection, store, keys, ledger, runId, locks: paths.locks, logsDir: join(paths.runs, runId), lease, leases, remote });
    await runGraph(pipeline, selection, ledger, runStage, options.concurrency ?? 2, options.signal);
    await remote?.settle();
    await keys.save().catch((err) => {
      emit({ event: 'stage-log', stage: '', level: 'warn', message: `could not save the data file digest cache: ${(err as Error).message}` });
    });
  }

  const stopped = stopReason(options.signal);
  const cancelled = (options.signal?.aborted ?? false) && !stopped;
  let ok = !cancelled && !stopped && ledger.allSucceeded(options.dryRun ?? false);
  let runError: string | undefined;
  if (!options.dryRun) {
    const runs = workspacePaths(options.workspace).runs;
    try {
      await writeRunRecord(runs, runId, {
        pipeline,
        workspace: options.workspace,
        environments: [...environments.values()],
        startedAt,
        ok,
        cancelled,
        stopReason: stopped,
        trigger: options.trigger ?? 'cli',
        experiment: options.experiment,
        options: { force: options.force, only: options.only, from: options.from, ...(options.remote ? { remote: options.remote.description } : {}) },
        stages: ledger.records,
      });
    } catch (err) {
      ok = false;
      runError = `could not write the run record: ${describeIoError(err, join(runs, runId, 'run.json')).message}. Results already published stay in the store; the next run reuses them.`;
    }
  }
  await lease?.release();
  const extra = { ...(stopped ? { stopped } : {}), ...(runError ? { error: runError } : {}) };
  emit({ event: 'summary', ok, runId, cancelled, ...extra, stages: ledger.summaries });
  return { ok, cancelled, ...extra, runId, stages: ledger.summaries };
}

/** Out-of-space and similar failures while a stage writes: one line naming where, not a stack. */
function ioFailure(err: unknown, stage: string, dir: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EROFS') return err;
  return new UserInputError(`stage "${stage}": ${describeIoError(err, dir).message}`);
}

function stopReason(signal: AbortSignal | undefined): string | undefined {
  return signal?.reason instanceof RunStop ? signal.reason.message : undefined;
}

/** `--dry-run`: each selected stage as cached, or skipped with why it would run. */
async function reportPlan(pipeline: ResolvedPipeline, workspace: string, selection: Selection, ledger: RunLedger): Promise<void> {
  for (const plan of await planPipeline(pipeline, workspace, selection)) {
    const uses = stageOf(pipeline, plan.stage).uses;
    const key = plan.key;
    if (plan.state === 'cached') ledger.finish(plan.stage, { status: 'cached', key, seconds: 0, uses });
    else if (plan.error !== undefined) ledger.finish(plan.stage, { status: 'failed', seconds: 0, error: describeError(plan.error), uses });
    else if (plan.state === 'blocked') ledger.finish(plan.stage, { status: 'skipped', seconds: 0, reason: `would run after "${plan.waitsFor?.[0]}"`, uses });
    else if (selection.only !== undefined && plan.stage !== selection.only) ledger.finish(plan.stage, { status: 'failed', key, seconds: 0, error: notCachedForOnly(pipeline, selection.only, plan.stage).message, uses });
    else ledger.finish(plan.stage, { status: 'skipped', key, seconds: 0, reason: `would run: ${plan.reasons.join('; ')}`, uses });
  }
}

interface StageRunnerDeps {
  pipeline: ResolvedPipeline;
  options: RunOptions;
  selection: Selection;
  store: ArtifactStore;
  keys: KeyCalculator;
  ledger: RunLedger;
  runId: string;
  locks: string;
  logsDir: string;
  lease: Lease;
  leases: Leases;
  remote?: RemoteRunSync;
}

/** Runs one stage, or links its cached result; upstream results accumulate in `results`. */
function stageRunner({ pipeline, options, selection, store, keys, ledger, runId, locks, logsDir, lease, leases, remote }: StageRunnerDeps) {
  const results = new Map<string, Manifest>();
  const resources = new ResourceLedger(locks);
  return async (name: string): Promise<void> => {
    const stage = stageOf(pipeline, name);
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    throwIfCancelled(options.signal);
    const ingredients = await keys.ingredients(stage, results);
    const key = keyOf(ingredients);
    const recorded = recordedIngredients(stage, ingredients);
    // Hold the key before looking it up, so gc never removes what this run is about to use.
    lease.hold(key);
    await leases.waitForDeleter(options.signal);

    let damaged: string | undefined;
    let askedRemote = false;
    const reuseCached = async (): Promise<boolean> => {
      if (selection.forced.has(name)) return false;
      let cached = await store.check(key, { rehash: options.verifyCache });
      if (cached.state === 'damaged' && damaged === undefined) {
        damaged = cached.problems.join('; ');
        options.onEvent({ event: 'stage-log', stage: name, level: 'warn', message: `cached result ${key.slice(0, 12)} is damaged and will not be used: ${damaged}` });
      }
      let source: 'remote' | undefined;
      if (cached.state !== 'hit' && remote && !askedRemote) {
        askedRemote = true;
        if (await remote.fetch(name, key)) {
          cached = await store.check(key);
          source = 'remote';
        }
      }
      if (cached.state !== 'hit') return false;
      results.set(name, cached.manifest);
      await store.link(pipeline.name, name, key);
      ledger.finish(name, { status: 'cached', ...(source ? { source } : {}), key, seconds: seconds(), metrics: cached.manifest.metrics, ingredients: recorded, uses: stage.uses });
      return true;
    };
    if (await reuseCached()) return;
    if (selection.only !== undefined && name !== selection.only) throw notCachedForOnly(pipeline, selection.only, name, damaged !== undefined);
    const reason = selection.forced.has(name) ? 'forced' : damaged ? 'cached result is damaged; rebuilding it' : 'no cached result for this key';
    // Runs in other processes (a sweep's variants) may be computing this very key: wait and reuse their result.
    const releaseKey = await acquireLock(join(locks, 'keys', key), {
      signal: options.signal,
      onWait: () => options.onEvent({ event: 'stage-progress', stage: name, message: 'waiting: another run is computing this same result' }),
    });
    try {
      if (await reuseCached()) return;
      const needs = stage.resources;
      const releaseResources = needs.cpu || needs.mutex
        ? await resources.acquire(`${pipeline.name}/${name} (pid ${process.pid})`, needs, {
          signal: options.signal,
          onWait: (blockers) => options.onEvent({ event: 'stage-progress', stage: name, message: `waiting for ${needs.mutex ? `mutex "${needs.mutex}"` : `${needs.cpu} cpu`}: held by ${blockers}` }),
        })
        : async () => undefined;
      try {
        await execute(name, stage, key, reason, recorded, seconds);
        remote?.publish(name, key);
      } finally {
        await releaseResources();
      }
    } finally {
      await releaseKey();
    }
  };

  async function execute(name: string, stage: ResolvedStage, key: string, reason: string, ingredients: Manifest['ingredients'], seconds: () => number): Promise<void> {
    options.onEvent({ event: 'stage-start', stage: name, key, reason });
    const logDir = join(logsDir, name);
    await mkdir(logDir, { recursive: true });
    const staging = await store.begin(key);
    const metrics: Record<string, number> = {};
    const memory = sampleMemory();
    const curve: EpochMetrics[] = [];
    ledger.curves.set(name, curve);
    try {
      const ctx = makeContext(stage, staging.outputPath.bind(staging), results, store, {
        workspace: options.workspace,
        logDir,
        environment: keys.environmentOf(stage),
        runId,
        signal: options.signal ?? new AbortController().signal,
        metrics,
        curve,
        emit: options.onEvent,
      });
      try {
        await stage.definition.run(ctx);
      } catch (err) {
        throw ioFailure(err, name, staging.dir);
      }
      throwIfCancelled(options.signal);
      const inputs = Object.entries(stage.inputs).map(([input, ref]) => ({ name: input, manifest: results.get(ref.stage)!, output: ref.output }));
      const tampered = await changedInputs(store, inputs);
      if (tampered.length) {
        throw new UserInputError(`stage "${name}" changed its inputs, which belong to the artifact store: ${tampered.join('; ')}; a stage must write only to its outputs. The next run rebuilds the damaged upstream result.`);
      }
      const manifest = await staging.commit(stage.outputs, {
        pipeline: pipeline.name,
        stage: name,
        uses: stage.uses,
        createdAt: new Date().toISOString(),
        seconds: seconds(),
        ingredients,
        metrics,
      }).catch((err) => {
        throw ioFailure(err, name, staging.dir);
      });
      results.set(name, manifest);
      await store.link(pipeline.name, name, key);
      ledger.finish(name, { status: 'ran', key, seconds: seconds(), metrics, peakRssBytes: memory.stop(), ingredients, uses: stage.uses });
    } catch (err) {
      memory.stop();
      await staging.abort();
      throw err;
    }
  }
}

/** Runs the selected stages in dependency order, `concurrency` at a time; a failure stops only what depends on it. */
async function runGraph(pipeline: ResolvedPipeline, selection: Selection, ledger: RunLedger, runStage: (name: string) => Promise<void>, concurrency: number, signal: AbortSignal | undefined): Promise<void> {
  const deps = dependencyMap(pipeline);
  const edges: [string, string][] = [];
  for (const [node, nodeDeps] of deps) {
    if (!selection.selected.has(node)) continue;
    for (const dep of nodeDeps) if (selection.selected.has(dep)) edges.push([dep, node]);
  }
  const nodes = Object.fromEntries([...selection.selected].map((name) => [name, {
    run: async () => {
      const t0 = performance.now();
      try {
        await runStage(name);
      } catch (err) {
        const cancelled = signal?.aborted ?? false;
        ledger.finish(name, {
          status: cancelled ? 'skipped' : 'failed',
          seconds: (performance.now() - t0) / 1000,
          error: cancelled ? (stopReason(signal) ? `stopped: ${stopReason(signal)}` : 'cancelled') : describeError(err),
          uses: stageOf(pipeline, name).uses,
        });
        throw err;
      }
    },
  }]));
  await new PGraph(nodes, edges).run({ concurrency, continue: true }).catch(() => undefined);

  // Stages that never started: name the upstream stage that stopped them (one pass in dependency order).
  const succeeded = (s: string) => ledger.records[s]?.status === 'ran' || ledger.records[s]?.status === 'cached';
  for (const name of topologicalOrder(deps)) {
    if (!selection.selected.has(name) || ledger.records[name]) continue;
    const upstream = (deps.get(name) ?? []).filter((d) => selection.selected.has(d));
    const blocker = upstream.find((d) => ledger.records[d] && !succeeded(d)) ?? upstream[0];
    ledger.finish(name, { status: 'skipped', seconds: 0, reason: `not run: upstream "${blocker}" did not complete`, uses: stageOf(pipeline, name).uses });
  }
}

function notCachedForOnly(pipeline: ResolvedPipeline, only: string, name: string, damaged = false): UserInputError {
  return new UserInputError(`--only ${only} needs the result of "${name}", which is ${damaged ? 'damaged in the store' : 'not cached'}; run \`inkflow run ${pipeline.file} --from ${name}\` or without --only first`);
}

function stageOf(pipeline: ResolvedPipeline, name: string): ResolvedStage {
  const stage = pipeline.stages.get(name);
  if (!stage) throw new InternalError(`no stage "${name}" in ${pipeline.name}`);
  return stage;
}
