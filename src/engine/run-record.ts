/** Run records: what ran, with which params, keys, timings, memory and metrics. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ResolvedPipeline } from './config.js';
import type { StageStatus } from './events.js';
import type { KeyIngredients } from './store.js';
import { describeEnvironment, type EnvironmentDescription } from './environment.js';
import type { ResolvedEnvironment } from './stage-api.js';
import { DamagedFileError, readJsonIfExists, writeJsonAtomic } from '../util/fs.js';

export interface StageRecord {
  status: StageStatus;
  uses: string;
  key?: string;
  seconds: number;
  /** When the stage began (the dashboard's timeline); absent in records written before it was kept. */
  startedAt?: string;
  error?: string;
  reason?: string;
  peakRssBytes?: number;
  metrics?: Record<string, number>;
  ingredients?: KeyIngredients;
}

export interface RunRecord {
  runId: string;
  pipeline: string;
  pipelineFile: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  cancelled: boolean;
  trigger: string;
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
    trigger: string;
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
    trigger: run.trigger,
    options: run.options,
    params: run.pipeline.recordedParams ?? run.pipeline.params,
    stageParams: Object.fromEntries([...run.pipeline.stages].map(([n, s]) => [n, s.recordedParams ?? s.params])),
    stages: run.stages,
    environment: describeEnvironment(run.workspace, run.environments),
  };
  await writeJsonAtomic(join(runsDir, runId, 'run.json'), record);
  return record;
}

const warnDamaged = (message: string) => process.stderr.write(`inkflow: warning: ${message}\n`);

/** Every readable run record, oldest first; a damaged record is skipped with a warning naming its file. */
export async function listRuns(runsDir: string, onDamaged: (message: string) => void = warnDamaged): Promise<RunRecord[]> {
  const ids = (await readdir(runsDir).catch(() => [] as string[])).sort();
  const runs: RunRecord[] = [];
  for (const id of ids) {
    const file = join(runsDir, id, 'run.json');
    try {
      const record = await readJsonIfExists<RunRecord>(file);
      if (!record) continue;
      if (typeof record !== 'object' || typeof record.runId !== 'string' || !record.stages || typeof record.stages !== 'object') {
        throw new DamagedFileError(file, 'not an inkflow run record');
      }
      runs.push(record);
    } catch (err) {
      if (!(err instanceof DamagedFileError)) throw err;
      onDamaged(`${err.message}; skipped (delete ${join(runsDir, id)} if the run does not matter)`);
    }
  }
  return runs;
}

/** A run by id, unique id prefix, or `latest`/`latest~N`. */
export async function findRun(runsDir: string, ref: string): Promise<RunRecord> {
  const runs = await listRuns(runsDir);
  const back = /^latest(?:~(\d+))?$/.exec(ref);
  if (back) {
    const run = runs[runs.length - 1 - Number(back[1] ?? 0)];
    if (run) return run;
    throw new Error(`no run "${ref}": ${runs.length} run(s) recorded`);
  }
  const matches = runs.filter((r) => r.runId.startsWith(ref));
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) throw new Error(`no run "${ref}" in ${runsDir}; see \`inkflow runs\``);
  throw new Error(`run id "${ref}" is ambiguous: ${matches.map((m) => m.runId).join(', ')}`);
}
