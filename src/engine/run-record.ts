/** Run records: what ran, with which params, keys, timings, memory and metrics. */
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ResolvedPipeline } from './config.js';
import type { ResultSource, StageStatus } from './events.js';
import type { KeyIngredients } from './store.js';
import { describeEnvironment, type EnvironmentDescription } from './environment.js';
import type { EpochMetrics, ResolvedEnvironment } from './stage-api.js';
import { DamagedFileError, readJsonIfExists, writeJsonAtomic } from '../util/fs.js';

export interface StageRecord {
  status: StageStatus;
  uses: string;
  key?: string;
  /** `remote`: a cached result downloaded from a remote cache in this run. */
  source?: ResultSource;
  seconds: number;
  /** When the stage began (the dashboard's timeline); absent in records written before it was kept. */
  startedAt?: string;
  error?: string;
  reason?: string;
  peakRssBytes?: number;
  metrics?: Record<string, number>;
  /** Per-epoch metrics the stage reported while it ran (kept even when it failed or was stopped). */
  epochs?: EpochMetrics[];
  ingredients?: KeyIngredients;
}

/** Which experiment a run belongs to, when a sweep or the queue started it. */
export interface ExperimentTag {
  /** Sweep id shared by the variants of one `exp run`. */
  sweep: string;
  /** Name of the variant, e.g. "lr=0.001,bs=64". */
  name: string;
  /** The `--set` overrides that make this variant, by `stage.param`. */
  overrides: Record<string, unknown>;
}

export interface RunRecord {
  runId: string;
  pipeline: string;
  pipelineFile: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  cancelled: boolean;
  /** Set when the run was stopped on purpose (e.g. early termination), not by the user. */
  stopReason?: string;
  trigger: string;
  experiment?: ExperimentTag;
  options: Record<string, unknown>;
  params: Record<string, unknown>;
  stageParams: Record<string, Record<string, unknown>>;
  stages: Record<string, StageRecord>;
  environment: EnvironmentDescription;
}

/** Sortable by time, unique across concurrent runs. */
export function newRunId(): string {
  return `${new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '')}-${randomBytes(3).toString('hex')}`;
}

export async function writeRunRecord(
  runsDir: string,
  runId: string,
  run: {
    pipeline: ResolvedPipeline;
    workspace: string;
    environments: ResolvedEnvironment[];
    startedAt: Date;
    ok: boolean;
    cancelled: boolean;
    stopReason?: string;
    trigger: string;
    experiment?: ExperimentTag;
    options: Record<string, unknown>;
    stages: Record<string, StageRecord>;
  },
): Promise<RunRecord> {
  const record: RunRecord = {
    runId,
    pipeline: run.pipeline.name,
    pipelineFile: run.pipeline.file,
    startedAt: run.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    ok: run.ok,
    cancelled: run.cancelled,
    ...(run.stopReason ? { stopReason: run.stopReason } : {}),
    trigger: run.trigger,
    ...(run.experiment ? { experiment: run.experiment } : {}),
    options: run.options,
    params: run.pipeline.recordedParams ?? run.pipeline.params,
    stageParams: Object.fromEntries([...run.pipeline.stages].map(([n, s]) => [n, s.recordedParams ?? s.params])),
    stages: run.stages,
    environment: describeEnvironment(run.workspace, run.environments),
  };
  await writeJsonAtomic(join(runsDir, runId, 'run.json'), record);
  await appendToIndex(runsDir, record);
  return record;
}

const warnDamaged = (message: string) => process.stderr.write(`inkflow: warning: ${message}\n`);

async function runIds(runsDir: string): Promise<string[]> {
  return (await readdir(runsDir).catch(() => [] as string[])).sort();
}

/** A run's record; undefined for a run still going (no run.json yet) or a damaged record, which is reported. */
async function readRun(runsDir: string, id: string, onDamaged: (message: string) => void = warnDamaged): Promise<RunRecord | undefined> {
  const file = join(runsDir, id, 'run.json');
  try {
    const record = await readJsonIfExists<RunRecord>(file);
    if (!record) return undefined;
    if (typeof record !== 'object' || typeof record.runId !== 'string' || !record.stages || typeof record.stages !== 'object') {
      throw new DamagedFileError(file, 'not an inkflow run record');
    }
    return record;
  } catch (err) {
    if (!(err instanceof DamagedFileError)) throw err;
    onDamaged(`${err.message}; skipped (delete ${join(runsDir, id)} if the run does not matter)`);
    return undefined;
  }
}

/** Every readable run record, oldest first; a damaged record is skipped with a warning naming its file. */
export async function listRuns(runsDir: string, onDamaged: (message: string) => void = warnDamaged): Promise<RunRecord[]> {
  const ids = await runIds(runsDir);
  const runs: RunRecord[] = [];
  for (let i = 0; i < ids.length; i += 64) {
    for (const record of await Promise.all(ids.slice(i, i + 64).map((id) => readRun(runsDir, id, onDamaged)))) if (record) runs.push(record);
  }
  return runs;
}

/** What a table of runs needs from a record: a few KB instead of the whole record. */
export interface RunSummary {
  runId: string;
  pipeline: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  cancelled: boolean;
  stopReason?: string;
  experiment?: ExperimentTag;
  params: Record<string, unknown>;
  stageParams: Record<string, Record<string, unknown>>;
  /** `stage.metric` → value. */
  metrics: Record<string, number>;
}

export function summarizeRun(r: RunRecord): RunSummary {
  return {
    runId: r.runId, pipeline: r.pipeline, startedAt: r.startedAt, finishedAt: r.finishedAt, ok: r.ok, cancelled: r.cancelled,
    ...(r.stopReason ? { stopReason: r.stopReason } : {}),
    ...(r.experiment ? { experiment: r.experiment } : {}),
    params: r.params ?? {}, stageParams: r.stageParams ?? {}, metrics: flatMetrics(r),
  };
}

// How a run becomes a table row, for `inkflow runs`, experiment summaries and the dashboard alike.

export type RunStatus = 'ok' | 'failed' | 'cancelled' | 'stopped';

export function runStatus(run: Pick<RunRecord, 'ok' | 'cancelled' | 'stopReason'>): RunStatus {
  return run.stopReason ? 'stopped' : run.cancelled ? 'cancelled' : run.ok ? 'ok' : 'failed';
}

export function runSeconds(run: Pick<RunRecord, 'startedAt' | 'finishedAt'>): number {
  return (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
}

/**
 * Every param under its column name: `params.<name>` for the pipeline's, `<stage>.<name>`
 * for a stage's. `prepare` sees each params object first (the dashboard redacts secrets).
 */
export function flatParams(run: Pick<RunRecord, 'params' | 'stageParams'>, prepare: (params: Record<string, unknown>) => Record<string, unknown> = (p) => p): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(prepare(run.params ?? {}))) out[`params.${k}`] = v;
  for (const [stage, params] of Object.entries(run.stageParams ?? {})) for (const [k, v] of Object.entries(prepare(params))) out[`${stage}.${k}`] = v;
  return out;
}

/** Every metric as `<stage>.<name>`; a value JSON turned into null (NaN) is left out. */
export function flatMetrics(run: Pick<RunRecord, 'stages'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [stage, record] of Object.entries(run.stages)) {
    for (const [k, v] of Object.entries(record.metrics ?? {})) if (typeof v === 'number') out[`${stage}.${k}`] = v;
  }
  return out;
}

/** One JSON line per finished run, beside the run folders, so listing a thousand runs reads one small file. */
export function runIndexFile(runsDir: string): string {
  return `${runsDir}-index.jsonl`;
}

async function appendToIndex(runsDir: string, record: RunRecord): Promise<void> {
  // One short append per run: O_APPEND keeps concurrent runs' lines whole.
  await appendFile(runIndexFile(runsDir), JSON.stringify(summarizeRun(record)) + '\n');
}

/**
 * Summaries of every recorded run, oldest first: from the index, with runs it
 * lacks (recorded before it existed) read from their records, and runs whose
 * folders are gone (garbage-collected) left out.
 */
export async function listRunSummaries(runsDir: string): Promise<RunSummary[]> {
  const ids = await runIds(runsDir);
  const indexed = new Map<string, RunSummary>();
  const text = await readFile(runIndexFile(runsDir), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const summary = JSON.parse(line) as RunSummary;
      indexed.set(summary.runId, summary);
    } catch {
      // A torn last line of a crashed append: that run is read from its record below.
    }
  }
  const missing = ids.filter((id) => !indexed.has(id));
  const added: RunSummary[] = [];
  for (let i = 0; i < missing.length; i += 64) {
    for (const record of await Promise.all(missing.slice(i, i + 64).map((id) => readRun(runsDir, id)))) if (record) added.push(summarizeRun(record));
  }
  if (added.length) {
    added.forEach((summary) => indexed.set(summary.runId, summary));
    await appendFile(runIndexFile(runsDir), added.map((a) => JSON.stringify(a) + '\n').join('')).catch(() => undefined);
  }
  return ids.map((id) => indexed.get(id)).filter((s): s is RunSummary => !!s);
}

/** A run by id, unique id prefix, or `latest`/`latest~N`. */
export async function findRun(runsDir: string, ref: string): Promise<RunRecord> {
  const ids = await runIds(runsDir);
  const back = /^latest(?:~(\d+))?$/.exec(ref);
  if (back) {
    let skip = Number(back[1] ?? 0);
    for (const id of ids.slice().reverse()) {
      const record = await readRun(runsDir, id);
      if (record && skip-- === 0) return record;
    }
    throw new Error(`no run "${ref}": ${ids.length} run(s) recorded`);
  }
  const matches = ids.filter((id) => id.startsWith(ref));
  const only = matches.length === 1 ? matches[0] : undefined;
  const record = only === undefined ? undefined : await readRun(runsDir, only);
  if (record) return record;
  if (matches.length <= 1) throw new Error(`no run "${ref}" in ${runsDir}; see \`inkflow runs\``);
  throw new Error(`run id "${ref}" is ambiguous: ${matches.join(', ')}`);
}
