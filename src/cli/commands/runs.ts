import { workspacePaths } from '../../engine/workspace.js';
import { findRun, flatMetrics, flatParams, listRunSummaries, type RunRecord } from '../../engine/run-record.js';
import { renderTable, runTable, TableQueryError } from '../../exp/run-table.js';
import { canonicalJson } from '../../util/hash.js';
import { integerOption, parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { table, workspaceRoot } from './common.js';

const HELP = `usage: inkflow runs [options]
       inkflow runs diff <run> <run> [<run>...]   (ids, unique prefixes, or latest, latest~1, ...)

A table of runs: the params that differ across the listed runs, and every metric.
  --pipeline <name>     only runs of this pipeline
  --sweep <id>          only the variants of one sweep (\`inkflow exp run\` prints its id)
  --where <expr>        e.g. 'train.learning_rate < 1e-3 and balanced800_accuracy > 0.93';
                        names may drop their stage when unique; quote names with "-": 'build-model.seed'
  --sort <name>         sort by a column; name:desc (or --sort=-name) for descending
  --only-changed        also hide metrics that are the same in every run
  --last <n>            only the n most recent runs (after filtering)
  --md | --csv | --json   output format (default: aligned text)`;

export async function runsCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('runs', args, {
    pipeline: { type: 'string' },
    sweep: { type: 'string' },
    where: { type: 'string' },
    sort: { type: 'string' },
    'only-changed': { type: 'boolean' },
    last: { type: 'string' },
    md: { type: 'boolean' },
    csv: { type: 'boolean' },
    json: { type: 'boolean' },
  }, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const runsDir = workspacePaths(workspaceRoot()).runs;
  const [sub, ...refs] = parsed.positionals;
  if (sub === 'diff') {
    if (refs.length < 2) throw new UsageError(`runs diff needs at least two run ids\n\n${HELP}`);
    const runs = await Promise.all(refs.map((ref) => findRun(runsDir, ref)));
    const diff = diffManyRuns(runs);
    const [a, b, ...more] = runs;
    process.stdout.write(values.json ? JSON.stringify(a && b && !more.length ? diffRuns(a, b) : diff) + '\n' : renderDiff(diff) + '\n');
    return 0;
  }
  if (sub) throw new UsageError(`runs: unknown subcommand "${sub}"\n\n${HELP}`);
  const runs = (await listRunSummaries(runsDir)).filter((r) => (!values.pipeline || r.pipeline === values.pipeline) && (!values.sweep || r.experiment?.sweep === values.sweep));
  if (!runs.length) {
    process.stdout.write(values.json ? '[]\n' : 'no runs recorded yet\n');
    return 0;
  }
  let result;
  try {
    result = runTable(runs, { where: values.where, sort: values.sort, onlyChanged: values['only-changed'] });
  } catch (err) {
    if (err instanceof TableQueryError) throw new UsageError(err.message);
    throw err;
  }
  const last = integerOption('runs', 'last', values.last, { min: 1 });
  if (last) result.rows = result.rows.slice(-last);
  const format = values.json ? 'json' : values.csv ? 'csv' : values.md ? 'md' : 'text';
  process.stdout.write((result.rows.length || format !== 'text' ? renderTable(result, format) : 'no run matches') + '\n');
  return 0;
}

export interface RunDiff {
  a: string;
  b: string;
  params: { name: string; a: unknown; b: unknown }[];
  metrics: { name: string; a?: number; b?: number; change?: number }[];
}

/** Two runs: what changed and by how much (the shape `runs diff --json` prints for two runs). */
export function diffRuns(a: RunRecord, b: RunRecord): RunDiff {
  const many = diffManyRuns([a, b]);
  return {
    a: a.runId,
    b: b.runId,
    params: many.params.map((p) => ({ name: p.name, a: p.values[0], b: p.values[1] })),
    metrics: many.metrics.map((m) => ({ name: m.name, a: m.values[0], b: m.values[1], change: m.values[0] !== undefined && m.values[1] !== undefined ? m.values[1] - m.values[0] : undefined })),
  };
}

export interface ManyRunDiff {
  runs: string[];
  params: { name: string; values: unknown[] }[];
  metrics: { name: string; values: (number | undefined)[] }[];
}

/** N runs: the params that are not the same in all of them, and every metric. */
export function diffManyRuns(runs: RunRecord[]): ManyRunDiff {
  const params = runs.map((r) => flatParams(r));
  const metrics = runs.map((r) => flatMetrics(r));
  return {
    runs: runs.map((r) => r.runId),
    params: [...new Set(params.flatMap(Object.keys))]
      .filter((k) => new Set(params.map((p) => canonicalJson(p[k] ?? null))).size > 1)
      .map((name) => ({ name, values: params.map((p) => p[name]) })),
    metrics: [...new Set(metrics.flatMap(Object.keys))].sort().map((name) => ({ name, values: metrics.map((m) => m[name]) })),
  };
}

function format(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  return v === undefined ? '-' : JSON.stringify(v);
}

function renderDiff(diff: ManyRunDiff): string {
  const labels = diff.runs.map((_, i) => String.fromCharCode(65 + (i % 26)) + (i >= 26 ? String(Math.floor(i / 26)) : ''));
  const two = diff.runs.length === 2;
  const out = [...diff.runs.map((id, i) => `${labels[i]} = ${id}`), ''];
  out.push(diff.params.length ? table([['PARAM', ...labels], ...diff.params.map((p) => [p.name, ...p.values.map(format)])]) : 'params: identical');
  out.push('');
  const change = (values: (number | undefined)[]) => {
    if (values[0] === undefined || values[1] === undefined) return '';
    const d = values[1] - values[0];
    return (d >= 0 ? '+' : '') + format(d);
  };
  out.push(diff.metrics.length
    ? table([['METRIC', ...labels, ...(two ? ['CHANGE'] : [])], ...diff.metrics.map((m) => [m.name, ...m.values.map(format), ...(two ? [change(m.values)] : [])])])
    : 'metrics: none recorded');
  return out.join('\n');
}
