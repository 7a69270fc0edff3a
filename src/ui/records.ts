/**
 * Run records as the dashboard sees them: summaries with flat params and
 * metrics, read from logs/runs/<id>/run.json and cached by modification time,
 * so listing 1,000 runs re-reads only the records that changed.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { flatMetrics, flatParams, runSeconds, runStatus, type RunRecord, type RunStatus } from '../engine/run-record.js';
import { canonicalJson } from '../util/hash.js';

export type Cell = string | number | boolean | null;

export interface RunSummary {
  runId: string;
  pipeline: string;
  status: RunStatus | 'running';
  startedAt: string;
  seconds: number;
  backend: string;
  commit: string;
  sweep?: string;
  ran: number;
  cached: number;
  params: Record<string, Cell>;
  metrics: Record<string, number>;
}

const RUN_ID = /^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$/;

export function isRunId(id: string): boolean {
  return RUN_ID.test(id);
}

/** Params whose names suggest credentials are never sent to the browser. */
const SECRET_NAME = /(secret|token|passw(or)?d|api[_-]?key|credential|private[_-]?key|auth)/i;

export function redact(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, SECRET_NAME.test(k) ? '••••' : v && typeof v === 'object' && !Array.isArray(v) ? redact(v as Record<string, unknown>) : v]));
}

/** A param value as the browser's table shows it: scalars as they are, anything else as canonical JSON. */
function toCell(v: unknown): Cell {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : canonicalJson(v);
}

function summarize(run: RunRecord): RunSummary {
  const stages = Object.values(run.stages);
  return {
    runId: run.runId,
    pipeline: run.pipeline,
    status: runStatus(run),
    startedAt: run.startedAt,
    seconds: runSeconds(run),
    backend: String(run.environment?.backend ?? ''),
    commit: typeof run.environment?.gitCommit === 'string' ? run.environment.gitCommit.slice(0, 10) : '',
    sweep: run.experiment?.sweep,
    ran: stages.filter((s) => s.status === 'ran').length,
    cached: stages.filter((s) => s.status === 'cached').length,
    params: Object.fromEntries(Object.entries(flatParams(run, redact)).map(([k, v]) => [k, toCell(v)])),
    metrics: flatMetrics(run),
  };
}

export interface RunQuery {
  offset?: number;
  limit?: number;
  /** A column: runId, pipeline, status, startedAt, seconds, backend, commit, or a param/metric name. */
  sort?: string;
  descending?: boolean;
  /** Case-insensitive text every shown cell of a row is searched for. */
  filter?: string;
  pipeline?: string;
  status?: string;
}

export interface RunPage {
  total: number;
  offset: number;
  rows: RunSummary[];
  /** Params that differ between the matching runs, and every metric they recorded. */
  paramColumns: string[];
  metricColumns: string[];
  pipelines: string[];
}

interface Cached {
  mtimeMs: number;
  record: RunRecord;
  summary: RunSummary;
}

export class RunRecords {
  private readonly cache = new Map<string, Cached>();

  constructor(readonly runsDir: string) {}

  /** Every recorded run, oldest first. */
  async all(): Promise<Cached[]> {
    const ids = (await readdir(this.runsDir).catch(() => [] as string[])).filter(isRunId).sort();
    const out: Cached[] = [];
    const seen = new Set<string>();
    await Promise.all(ids.map(async (id) => {
      const file = join(this.runsDir, id, 'run.json');
      const info = await stat(file).catch(() => undefined);
      if (!info) return;
      seen.add(id);
      const hit = this.cache.get(id);
      if (hit && hit.mtimeMs === info.mtimeMs) return;
      try {
        const record = JSON.parse(await readFile(file, 'utf8')) as RunRecord;
        this.cache.set(id, { mtimeMs: info.mtimeMs, record, summary: summarize(record) });
      } catch {
        // A record being replaced is renamed into place atomically; an unreadable one is skipped until it is whole.
      }
    }));
    for (const id of this.cache.keys()) if (!seen.has(id)) this.cache.delete(id);
    for (const id of ids) {
      const hit = this.cache.get(id);
      if (hit) out.push(hit);
    }
    return out;
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    if (!isRunId(runId)) return undefined;
    return (await this.all()).find((c) => c.record.runId === runId)?.record;
  }

  async page(query: RunQuery, live: RunSummary[] = []): Promise<RunPage> {
    const recorded = (await this.all()).map((c) => c.summary);
    const ids = new Set(recorded.map((r) => r.runId));
    const summaries = [...recorded, ...live.filter((l) => !ids.has(l.runId))];
    const pipelines = [...new Set(summaries.map((s) => s.pipeline))].sort();
    let rows = summaries.filter((s) => (!query.pipeline || s.pipeline === query.pipeline) && (!query.status || s.status === query.status));
    const paramColumns = varyingParams(rows);
    const metricColumns = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].sort();
    if (query.filter) {
      const needle = query.filter.toLowerCase();
      rows = rows.filter((r) => [r.runId, r.pipeline, r.status, r.backend, r.commit, ...paramColumns.map((c) => String(r.params[c] ?? ''))].some((v) => v.toLowerCase().includes(needle)));
    }
    const sort = query.sort ?? 'startedAt';
    const descending = query.descending ?? (query.sort === undefined);
    const value = (r: RunSummary): Cell | undefined => (sort in r.metrics ? r.metrics[sort] : sort in r.params ? r.params[sort] : isSummaryColumn(sort) ? r[sort] : undefined);
    rows = [...rows].sort((a, b) => compareCells(value(a), value(b)) * (descending ? -1 : 1));
    const offset = Math.max(0, query.offset ?? 0);
    const limit = Math.min(500, Math.max(1, query.limit ?? 100));
    const shown = rows.slice(offset, offset + limit).map((r) => ({ ...r, params: Object.fromEntries(paramColumns.flatMap((c) => (r.params[c] === undefined ? [] : [[c, r.params[c]]]))) }));
    return { total: rows.length, offset, rows: shown, paramColumns, metricColumns, pipelines };
  }
}

/** The summary's own scalar columns, which a page can be sorted by besides params and metrics. */
const SUMMARY_COLUMNS = ['runId', 'pipeline', 'status', 'startedAt', 'seconds', 'backend', 'commit', 'sweep', 'ran', 'cached'] as const satisfies readonly (keyof RunSummary)[];

function isSummaryColumn(name: string): name is (typeof SUMMARY_COLUMNS)[number] {
  return (SUMMARY_COLUMNS as readonly string[]).includes(name);
}

/** Missing values sort last in either direction's natural reading: they compare as larger than anything. */
function compareCells(a: Cell | undefined, b: Cell | undefined): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** Params with more than one value among the runs that have them: a param of only one pipeline is not a difference. */
export function varyingParams(rows: Pick<RunSummary, 'params'>[]): string[] {
  const values = new Map<string, Set<string>>();
  for (const r of rows) {
    for (const [k, v] of Object.entries(r.params)) {
      let set = values.get(k);
      if (!set) values.set(k, (set = new Set()));
      set.add(JSON.stringify(v));
    }
  }
  return [...values].filter(([, set]) => set.size > 1).map(([k]) => k).sort();
}
