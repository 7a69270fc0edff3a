import { workspacePaths } from '../../engine/executor.js';
import { findRun, listRuns, type RunRecord } from '../../engine/run-record.js';
import { canonicalJson } from '../../util/hash.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { table, workspaceRoot } from './common.js';

const HELP = `usage: inkflow runs [--pipeline <name>] [--json]
       inkflow runs diff <run-a> <run-b>     (ids, unique prefixes, or latest, latest~1, ...)`;

export async function runsCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('runs', args, { pipeline: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const runsDir = workspacePaths(workspaceRoot()).runs;
  const [sub, a, b] = parsed.positionals;
  if (sub === 'diff') {
    if (!a || !b) throw new UsageError(`runs diff needs two run ids\n\n${HELP}`);
    const diff = diffRuns(await findRun(runsDir, a), await findRun(runsDir, b));
    process.stdout.write(parsed.values.json ? JSON.stringify(diff) + '\n' : renderDiff(diff) + '\n');
    return 0;
  }
  if (sub) throw new UsageError(`runs: unknown subcommand "${sub}"\n\n${HELP}`);
  const runs = (await listRuns(runsDir)).filter((r) => !parsed.values.pipeline || r.pipeline === parsed.values.pipeline);
  if (parsed.values.json) {
    process.stdout.write(JSON.stringify(runs.map(({ runId, pipeline, ok, startedAt, stages }) => ({ runId, pipeline, ok, startedAt, stages }))) + '\n');
    return 0;
  }
  if (!runs.length) {
    process.stdout.write('no runs recorded yet\n');
    return 0;
  }
  const rows = [['RUN', 'PIPELINE', 'RESULT', 'RAN', 'CACHED', 'SECONDS', 'METRICS']];
  for (const r of runs) {
    const stages = Object.values(r.stages);
    const seconds = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
    const metrics = Object.entries(flatMetrics(r)).slice(0, 3).map(([k, v]) => `${k}=${format(v)}`).join(' ');
    rows.push([r.runId, r.pipeline, r.cancelled ? 'cancelled' : r.ok ? 'ok' : 'failed', String(stages.filter((s) => s.status === 'ran').length), String(stages.filter((s) => s.status === 'cached').length), seconds.toFixed(1), metrics]);
  }
  process.stdout.write(table(rows) + '\n');
  return 0;
}

function flatMetrics(run: RunRecord): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [stage, record] of Object.entries(run.stages)) for (const [k, v] of Object.entries(record.metrics ?? {})) out[`${stage}.${k}`] = v;
  return out;
}

function flatParams(run: RunRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(run.params)) out[`params.${k}`] = v;
  for (const [stage, params] of Object.entries(run.stageParams)) for (const [k, v] of Object.entries(params)) out[`${stage}.${k}`] = v;
  return out;
}

export interface RunDiff {
  a: string;
  b: string;
  params: { name: string; a: unknown; b: unknown }[];
  metrics: { name: string; a?: number; b?: number; change?: number }[];
}

export function diffRuns(a: RunRecord, b: RunRecord): RunDiff {
  const pa = flatParams(a);
  const pb = flatParams(b);
  const params = [...new Set([...Object.keys(pa), ...Object.keys(pb)])]
    .filter((k) => canonicalJson(pa[k]) !== canonicalJson(pb[k]))
    .map((name) => ({ name, a: pa[name], b: pb[name] }));
  const ma = flatMetrics(a);
  const mb = flatMetrics(b);
  const metrics = [...new Set([...Object.keys(ma), ...Object.keys(mb)])].sort().map((name) => ({
    name,
    a: ma[name],
    b: mb[name],
    change: ma[name] !== undefined && mb[name] !== undefined ? mb[name] - ma[name] : undefined,
  }));
  return { a: a.runId, b: b.runId, params, metrics };
}

function format(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return v === undefined ? '-' : JSON.stringify(v);
}

function renderDiff(diff: RunDiff): string {
  const out = [`A = ${diff.a}`, `B = ${diff.b}`, ''];
  out.push(diff.params.length ? table([['PARAM', 'A', 'B'], ...diff.params.map((p) => [p.name, format(p.a), format(p.b)])]) : 'params: identical');
  out.push('');
  out.push(diff.metrics.length ? table([['METRIC', 'A', 'B', 'CHANGE'], ...diff.metrics.map((m) => [m.name, format(m.a), format(m.b), m.change === undefined ? '' : (m.change >= 0 ? '+' : '') + format(m.change)])]) : 'metrics: none recorded');
  return out.join('\n');
}
