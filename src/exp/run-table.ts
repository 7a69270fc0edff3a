/**
 * Run records as one comparison table: a row per run, a column per param that
 * differs across the runs and per metric; filtered with `--where`, sorted, and
 * written as aligned text, Markdown, CSV or JSON.
 */
import { compileExpression } from 'filtrex';
import type { RunRecord, RunSummary } from '../engine/run-record.js';
import { canonicalJson } from '../util/hash.js';
import { didYouMean } from '../util/text.js';

export type Cell = string | number | boolean | null | undefined | object;

export interface RunTable {
  columns: { name: string; kind: 'run' | 'param' | 'metric' }[];
  rows: Record<string, Cell>[];
}

export class TableQueryError extends Error {}

export function flatParams(run: Pick<RunRecord, 'params' | 'stageParams'>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(run.params ?? {})) out[`params.${k}`] = v;
  for (const [stage, params] of Object.entries(run.stageParams ?? {})) for (const [k, v] of Object.entries(params)) out[`${stage}.${k}`] = v;
  return out;
}

export function flatMetrics(run: RunRecord): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [stage, record] of Object.entries(run.stages)) for (const [k, v] of Object.entries(record.metrics ?? {})) out[`${stage}.${k}`] = v;
  return out;
}

export function runStatus(run: Pick<RunRecord, 'ok' | 'cancelled' | 'stopReason'>): string {
  return run.stopReason ? 'stopped' : run.cancelled ? 'cancelled' : run.ok ? 'ok' : 'failed';
}

export interface TableOptions {
  where?: string;
  /** A column name (or unique suffix); `-name` or `name:desc` sorts descending. */
  sort?: string;
  /** Also drop metric columns whose value is the same in every run. */
  onlyChanged?: boolean;
}

export function runTable(runs: RunSummary[], options: TableOptions = {}): RunTable {
  // Rows stay indices into these per-run maps until the columns are known: a thousand runs with a hundred params each.
  // A stage may record a metric named like one of its params (load's `classes`): the param column is then `param:<name>`.
  const metricSet = new Set(runs.flatMap((r) => Object.keys(r.metrics)));
  const params = runs.map((r) => {
    const flat = flatParams(r);
    for (const name of Object.keys(flat)) {
      if (metricSet.has(name)) {
        flat[`param:${name}`] = flat[name];
        delete flat[name];
      }
    }
    return flat;
  });
  const base = runs.map((r) => ({
    run: r.runId,
    pipeline: r.pipeline,
    result: runStatus(r),
    experiment: r.experiment?.name,
    'ran on': r.hosts?.join(' '),
    seconds: Number(((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1)),
  }) as Record<string, Cell>);
  const cell: Lookup = (i, name) => (name in base[i] ? base[i][name] : name in runs[i].metrics ? runs[i].metrics[name] : (params[i][name] as Cell));
  const paramNames = [...new Set(params.flatMap(Object.keys))];
  const metricNames = [...metricSet].sort();
  const known = [...paramNames, ...metricNames, ...Object.keys(base[0] ?? {})];
  let order = runs.map((_, i) => i);
  if (options.where) order = order.filter(compileWhere(options.where, known, cell));
  if (options.sort) order = sortRows(order, options.sort, known, cell);
  const varies = (name: string) => new Set(order.map((i) => cellKey(cell(i, name)))).size > 1;
  const columns: RunTable['columns'] = [
    { name: 'run', kind: 'run' },
    { name: 'pipeline', kind: 'run' },
    { name: 'result', kind: 'run' },
    ...(order.some((i) => base[i].experiment) ? [{ name: 'experiment', kind: 'run' as const }] : []),
    ...(order.some((i) => base[i]['ran on']) ? [{ name: 'ran on', kind: 'run' as const }] : []),
    { name: 'seconds', kind: 'run' },
    ...paramNames.filter(varies).map((name) => ({ name, kind: 'param' as const })),
    ...metricNames.filter((m) => !options.onlyChanged || varies(m)).map((name) => ({ name, kind: 'metric' as const })),
  ];
  return { columns, rows: order.map((i) => Object.fromEntries(columns.map((c) => [c.name, cell(i, c.name)]))) };
}

/** The value of column `name` in run `i`. */
type Lookup = (i: number, name: string) => Cell;

function cellKey(v: Cell): unknown {
  return typeof v === 'object' && v !== null ? canonicalJson(v) : (v ?? null);
}

/** A column by exact name, or by a unique `.suffix` (`balanced800_accuracy` for `evaluate.balanced800_accuracy`). */
function resolveName(name: string, known: string[]): string {
  if (known.includes(name)) return name;
  const matches = known.filter((k) => k.endsWith(`.${name}`));
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) throw new TableQueryError(`"${name}" is ambiguous: ${matches.join(', ')}; write the full name`);
  const hint = didYouMean(name, known) || didYouMean(name, known.map((k) => k.slice(k.lastIndexOf('.') + 1)));
  throw new TableQueryError(`no param or metric "${name}" in these runs${hint}`);
}

/** Filtrex reads no exponents; turn `1e-3` into `0.001` outside quotes first. */
function plainNumbers(expression: string): string {
  return expression.replace(/('[^']*'|"[^"]*")|(?<![\w.])(\d+(?:\.\d+)?[eE][-+]?\d+)(?![\w.])/g, (whole, quoted: string | undefined, number: string) =>
    quoted ?? Number(number).toFixed(20).replace(/\.?0+$/, ''));
}

const comparable = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');

/** A run without the metric (failed, stopped) fails an ordering test instead of aborting the query. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- filtrex hands over whatever the row holds
const MISSING_IS_FALSE = {
  '==': (a: unknown, b: unknown) => a === b,
  '!=': (a: unknown, b: unknown) => a !== b,
  '<': (a: any, b: any) => comparable(a, b) && a < b,
  '<=': (a: any, b: any) => comparable(a, b) && a <= b,
  '>': (a: any, b: any) => comparable(a, b) && a > b,
  '>=': (a: any, b: any) => comparable(a, b) && a >= b,
};

export function compileWhere(expression: string, known: string[], cell: Lookup): (i: number) => boolean {
  let test: (i: number) => unknown;
  const resolved = new Map<string, string>();
  try {
    test = compileExpression(plainNumbers(expression), {
      customProp: (name: string, _get: unknown, i: number) => {
        if (!resolved.has(name)) resolved.set(name, resolveName(name, known));
        return cell(i, resolved.get(name)!) ?? null;
      },
      operators: MISSING_IS_FALSE,
    });
  } catch (err) {
    throw new TableQueryError(`--where "${expression}": ${(err as Error).message.split('\n').slice(0, 3).join(' ')}; names with "-" go in single quotes ('build-model.seed')`);
  }
  return (i) => {
    const result = test(i);
    if (result instanceof Error) throw new TableQueryError(`--where "${expression}": ${result.message}`);
    return result === true;
  };
}

function sortRows(order: number[], spec: string, known: string[], cell: Lookup): number[] {
  const descending = spec.startsWith('-') || spec.endsWith(':desc');
  const name = resolveName(spec.replace(/^-/, '').replace(/:(asc|desc)$/, ''), known);
  const sign = descending ? -1 : 1;
  return [...order].sort((a, b) => {
    const [x, y] = [cell(a, name), cell(b, name)];
    if (x === undefined || x === null) return y === undefined || y === null ? 0 : 1;
    if (y === undefined || y === null) return -1;
    if (typeof x === 'number' && typeof y === 'number') return sign * (x - y);
    return sign * String(x).localeCompare(String(y));
  });
}

export function formatCell(v: Cell): string {
  if (v === undefined || v === null) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function renderTable(table: RunTable, format: 'text' | 'md' | 'csv' | 'json'): string {
  const names = table.columns.map((c) => c.name);
  if (format === 'json') return JSON.stringify(table.rows);
  if (format === 'csv') {
    const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    return [names, ...table.rows.map((r) => names.map((n) => (r[n] === undefined || r[n] === null ? '' : typeof r[n] === 'object' ? JSON.stringify(r[n]) : String(r[n]))))].map((row) => row.map(quote).join(',')).join('\n');
  }
  const cells = table.rows.map((r) => names.map((n) => formatCell(r[n])));
  if (format === 'md') {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    return [`| ${names.map(esc).join(' | ')} |`, `|${names.map((_, i) => (table.columns[i].kind === 'run' ? '---' : '---:')).join('|')}|`, ...cells.map((c) => `| ${c.map(esc).join(' | ')} |`)].join('\n');
  }
  const widths = names.map((n, i) => Math.max(n.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => (table.columns[i].kind === 'run' ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ').trimEnd();
  return [line(table.columns.map((c) => (c.kind === 'run' ? c.name.toUpperCase() : c.name))), ...cells.map(line)].join('\n');
}
