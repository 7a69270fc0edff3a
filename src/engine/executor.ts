/**
 * Runs a resolved pipeline: stage keys are computed as upstream results become
 * known, cache hits are linked, misses run in a staging directory and are published.
 */
import { mkdir, appendFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGraph } from 'p-graph';
import type { ResolvedPipeline, ResolvedStage } from './config.js';
import { downstreamOf, topologicalOrder, upstreamOf, type DependencyMap } from './dag.js';
import type { EventSink, StageStatus, StageSummary } from './events.js';
import { FileDigests } from './file-digests.js';
import { moduleCodeHash } from './registry.js';
import type { ResolvedEnvironment, StageContext, StageEnvironment } from './stage-api.js';
import { ArtifactStore, changedInputs, STANDARD_INGREDIENTS, type KeyIngredients, type Manifest } from './store.js';
import { Leases, type Lease } from './leases.js';
import { describeIoError } from '../util/fs.js';
import { environmentKeys, resolveEnvironments } from './environment.js';
import { canonicalJson, sha256 } from '../util/hash.js';
import { InternalError, UserInputError, describeError, throwIfCancelled } from '../errors.js';
import { writeRunRecord, newRunId, type StageRecord } from './run-record.js';

/** Bump when the meaning of a key changes, so every old artifact is recomputed. */
const KEY_FORMAT = 1;

export interface RunOptions {
  workspace: string;
  force?: boolean;
  only?: string;
  from?: string;
  dryRun?: boolean;
  /** Re-hash every file of a cached result before trusting it (a cache hit otherwise checks sizes and stamps). */
  verifyCache?: boolean;
  concurrency?: number;
  signal?: AbortSignal;
  onEvent: EventSink;
  /** Extra fields for the run record (e.g. that a schedule started it). */
  trigger?: string;
}

export interface RunResult {
  ok: boolean;
  cancelled: boolean;
  runId: string;
  stages: Record<string, StageSummary>;
  /** A run-level problem, such as a run record that could not be written. */
  error?: string;
}

export function dependencyMap(pipeline: ResolvedPipeline): DependencyMap {
  return new Map([...pipeline.stages].map(([name, s]) => [name, [...new Set(Object.values(s.inputs).map((i) => i.stage))]]));
}

export function workspacePaths(workspace: string) {
  return {
    artifacts: join(workspace, 'artifacts'),
    logs: join(workspace, 'logs'),
    runs: join(workspace, 'logs', 'runs'),
  };
}

/** Computes a stage's cache key from its code, params, inputs and data files. */
export class KeyCalculator {
  private readonly digests: FileDigests;

  constructor(
    private readonly workspace: string,
    store: ArtifactStore,
    private readonly environments: ReadonlyMap<StageEnvironment, ResolvedEnvironment>,
  ) {
    this.digests = new FileDigests(join(store.root, 'file-digests.json'));
  }

  /** The key entries of the stage's environment, as resolved for this run. */
  environmentOf(stage: ResolvedStage): Readonly<Record<string, string>> {
    const environment = stage.definition.environment;
    if (!environment) return {};
    const resolved = this.environments.get(environment);
    if (!resolved) throw new InternalError(`environment "${environment.name}" of stage "${stage.name}" was not resolved`);
    const clash = Object.keys(resolved.key).find((k) => STANDARD_INGREDIENTS.includes(k));
    if (clash) throw new InternalError(`environment "${environment.name}" uses the reserved key entry "${clash}"`);
    return resolved.key;
  }

  async ingredients(stage: ResolvedStage, upstream: ReadonlyMap<string, Manifest>): Promise<KeyIngredients> {
    const inputs: Record<string, string> = {};
    for (const [name, ref] of Object.entries(stage.inputs)) {
      const manifest = upstream.get(ref.stage);
      if (!manifest) throw new InternalError(`upstream "${ref.stage}" of "${stage.name}" has no result`);
      inputs[name] = manifest.outputs[ref.output].digest;
    }
    const files: Record<string, string> = {};
    for (const path of stage.definition.fileParams?.(stage.params as never) ?? []) {
      try {
        files[path] = await this.digests.digest(resolve(this.workspace, path));
      } catch (err) {
        throw new UserInputError(`stage "${stage.name}": ${(err as Error).message.replace(resolve(this.workspace, path), path)} (relative paths start at the workspace ${this.workspace}; check the path, or point INKFLOW_DATA_DIR at the data folder)`);
      }
    }
    return {
      format: KEY_FORMAT,
      uses: stage.uses,
      version: stage.definition.version,
      code: await moduleCodeHash(stage.moduleFile),
      params: stage.params,
      inputs,
      files,
      ...this.environmentOf(stage),
    };
  }

  save(): Promise<void> {
    return this.digests.save();
  }
}

export function keyOf(ingredients: KeyIngredients): string {
  return sha256(canonicalJson(ingredients));
}

/** Ingredients as written to records: environment values the pipeline interpolated are redacted. */
export function recordedIngredients(stage: ResolvedStage, ingredients: KeyIngredients): KeyIngredients {
  if (!stage.recordedParams) return ingredients;
  const real = stage.definition.fileParams?.(stage.params as never) ?? [];
  const shown = stage.definition.fileParams?.(stage.recordedParams as never) ?? [];
  const files = Object.fromEntries(Object.entries(ingredients.files).map(([path, digest]) => [shown[real.indexOf(path)] ?? path, digest]));
  return { ...ingredients, params: stage.recordedParams, files };
}

export async function runPipeline(pipeline: ResolvedPipeline, options: RunOptions): Promise<RunResult> {
  const paths = workspacePaths(options.workspace);
  const store = new ArtifactStore(paths.artifacts);
  const environments = await resolvePipelineEnvironments(pipeline);
  const keys = new KeyCalculator(options.workspace, store, environments);
  const deps = dependencyMap(pipeline);
  const runId = newRunId();
  const emit = options.onEvent;

  const forced = new Set<string>();
  let selected = new Set(pipeline.stages.keys());
  if (options.force) pipeline.stages.forEach((_, name) => forced.add(name));
  if (options.from) {
    requireStage(pipeline, options.from, '--from');
    downstreamOf(deps, options.from).forEach((s) => forced.add(s));
  }
  if (options.only) {
    requireStage(pipeline, options.only, '--only');
    forced.add(options.only);
    selected = upstreamOf(deps, options.only);
  }

  emit({ event: 'run-start', runId, pipeline: pipeline.name, stages: [...selected], environment: environmentKeys(environments) });
  const results = new Map<string, Manifest>();
  const records: Record<string, StageRecord> = {};
  const summaries: Record<string, StageSummary> = {};
  const startedAt = new Date();
  const finish = (name: string, record: StageRecord) => {
    records[name] = { ...record, startedAt: new Date(Date.now() - record.seconds * 1000).toISOString() };
    summaries[name] = { status: record.status, key: record.key ?? '', seconds: record.seconds };
    emit({ event: 'stage-end', stage: name, status: record.status, key: record.key, seconds: record.seconds, error: record.error, reason: record.reason });
  };

  const lease: Lease | undefined = options.dryRun ? undefined : await new Leases(store.root).open(runId);
  const leases = new Leases(store.root);

  const runStage = async (name: string): Promise<void> => {
    const stage = pipeline.stages.get(name)!;
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    throwIfCancelled(options.signal);
    const ingredients = await keys.ingredients(stage, results);
    const key = keyOf(ingredients);
    const recorded = recordedIngredients(stage, ingredients);
    const upstreamOnly = options.only !== undefined && name !== options.only;
    // Hold the key before looking it up, so gc never removes what this run is about to use.
    lease?.hold(key);
    if (lease) await leases.waitForDeleter(options.signal);

    let damaged: string | undefined;
    if (!forced.has(name)) {
      const cached = await store.check(key, { rehash: options.verifyCache });
      if (cached.state === 'hit') {
        results.set(name, cached.manifest);
        if (!options.dryRun) await store.link(pipeline.name, name, key);
        finish(name, { status: 'cached', key, seconds: seconds(), metrics: cached.manifest.metrics, ingredients: recorded, uses: stage.uses });
        return;
      }
      if (cached.state === 'damaged') {
        damaged = cached.problems.join('; ');
        emit({ event: 'stage-log', stage: name, level: 'warn', message: `cached result ${key.slice(0, 12)} is damaged and will not be used: ${damaged}` });
      }
    }
    if (upstreamOnly) {
      throw new UserInputError(
        `--only ${options.only} needs the result of "${name}", which is ${damaged ? 'damaged in the store' : 'not cached'}; run \`inkflow run ${pipeline.file} --from ${name}\` or without --only first`,
      );
    }
    const reason = forced.has(name) ? 'forced' : damaged ? 'cached result is damaged; rebuilding it' : 'no cached result for this key';
    if (options.dryRun) {
      finish(name, { status: 'skipped', key, seconds: 0, reason: `would run: ${reason}`, ingredients: recorded, uses: stage.uses });
      throw new DryRunStop();
    }
    emit({ event: 'stage-start', stage: name, key, reason });
    const logDir = join(paths.runs, runId, name);
    await mkdir(logDir, { recursive: true });
    const staging = await store.begin(key);
    const metrics: Record<string, number> = {};
    const memory = sampleMemory();
    try {
      const ctx = makeContext(stage, staging.outputPath.bind(staging), results, store, {
        workspace: options.workspace,
        logDir,
        environment: keys.environmentOf(stage),
        signal: options.signal ?? new AbortController().signal,
        metrics,
        emit,
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
        ingredients: recorded,
        metrics,
      }).catch((err) => {
        throw ioFailure(err, name, staging.dir);
      });
      results.set(name, manifest);
      await store.link(pipeline.name, name, key);
      finish(name, { status: 'ran', key, seconds: seconds(), metrics, peakRssBytes: memory.stop(), ingredients: recorded, uses: stage.uses });
    } catch (err) {
      memory.stop();
      await staging.abort();
      throw err;
    }
  };

  const graphDeps: [string, string][] = [];
  for (const [node, nodeDeps] of deps) {
    if (!selected.has(node)) continue;
    for (const dep of nodeDeps) if (selected.has(dep)) graphDeps.push([dep, node]);
  }
  const nodes = Object.fromEntries([...selected].map((name) => [name, {
    run: async () => {
      const t0 = performance.now();
      try {
        await runStage(name);
      } catch (err) {
        if (!(err instanceof DryRunStop)) {
          const cancelled = options.signal?.aborted ?? false;
          finish(name, {
            status: cancelled ? 'skipped' : 'failed',
            seconds: (performance.now() - t0) / 1000,
            error: cancelled ? 'cancelled' : describeError(err),
            uses: pipeline.stages.get(name)!.uses,
          });
        }
        throw err;
      }
    },
  }]));
  let runError: string | undefined;
  await new PGraph(nodes, graphDeps).run({ concurrency: options.concurrency ?? 2, continue: true }).catch(() => undefined);
  await keys.save().catch((err) => {
    emit({ event: 'stage-log', stage: '', level: 'warn', message: `could not save the data file digest cache: ${(err as Error).message}` });
  });

  // Stages that never started: name the upstream stage that stopped them (one pass in dependency order).
  const succeeded = (s: string) => records[s]?.status === 'ran' || records[s]?.status === 'cached';
  for (const name of topologicalOrder(deps)) {
    if (!selected.has(name) || records[name]) continue;
    const upstream = (deps.get(name) ?? []).filter((d) => selected.has(d));
    const blocker = upstream.find((d) => records[d] && !succeeded(d)) ?? upstream[0];
    finish(name, {
      status: 'skipped',
      seconds: 0,
      reason: options.dryRun ? `would run after "${blocker}"` : `not run: upstream "${blocker}" did not complete`,
      uses: pipeline.stages.get(name)!.uses,
    });
  }
  const cancelled = options.signal?.aborted ?? false;
  let ok = !cancelled && Object.values(records).every((r) => r.status === 'ran' || r.status === 'cached' || (options.dryRun && r.status === 'skipped'));
  if (!options.dryRun) {
    try {
      await writeRunRecord(paths.runs, runId, {
        pipeline,
        workspace: options.workspace,
        environments: [...environments.values()],
        startedAt,
        ok,
        cancelled,
        trigger: options.trigger ?? 'cli',
        options: { force: options.force, only: options.only, from: options.from },
        stages: records,
      });
    } catch (err) {
      ok = false;
      runError = `could not write the run record: ${describeIoError(err, join(paths.runs, runId, 'run.json')).message}. Results already published stay in the store; the next run reuses them.`;
    }
  }
  await lease?.release();
  emit({ event: 'summary', ok, runId, cancelled, stages: summaries, ...(runError ? { error: runError } : {}) });
  return { ok, cancelled, runId, stages: summaries, ...(runError ? { error: runError } : {}) };
}

/** Out-of-space and similar failures while a stage writes: one line naming where, not a stack. */
function ioFailure(err: unknown, stage: string, dir: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EROFS') return err;
  return new UserInputError(`stage "${stage}": ${describeIoError(err, dir).message}`);
}

class DryRunStop extends Error {}

function requireStage(pipeline: ResolvedPipeline, name: string, flag: string): void {
  if (!pipeline.stages.has(name)) {
    throw new UserInputError(`${flag} ${name}: no such stage in ${pipeline.name}; stages: ${[...pipeline.stages.keys()].join(', ')}`);
  }
}

/** Every distinct environment the pipeline's stages declare, resolved once. */
export function resolvePipelineEnvironments(pipeline: ResolvedPipeline): Promise<Map<StageEnvironment, ResolvedEnvironment>> {
  return resolveEnvironments([...pipeline.stages.values()].map((s) => s.definition.environment), { backend: pipeline.backend });
}

interface ContextEnv {
  workspace: string;
  logDir: string;
  environment: Readonly<Record<string, string>>;
  signal: AbortSignal;
  metrics: Record<string, number>;
  emit: EventSink;
}

function makeContext(
  stage: ResolvedStage,
  outputPath: (name: string) => string,
  results: ReadonlyMap<string, Manifest>,
  store: ArtifactStore,
  env: ContextEnv,
): StageContext<any> {
  const inputs: Record<string, string> = {};
  for (const [name, ref] of Object.entries(stage.inputs)) {
    inputs[name] = store.outputPath(results.get(ref.stage)!.key, ref.output);
  }
  const logFile = join(env.logDir, 'stage.log');
  const log = (level: 'info' | 'warn') => (message: string) => {
    env.emit({ event: 'stage-log', stage: stage.name, level, message });
    void appendFile(logFile, `${new Date().toISOString()} ${level} ${message}\n`).catch(() => undefined);
  };
  return {
    params: stage.params,
    inputs,
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
  };
}

/** Peak resident memory while a stage runs (process-wide: parallel stages share it). */
function sampleMemory() {
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
