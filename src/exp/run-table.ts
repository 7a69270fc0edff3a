/**
 * Run records as one comparison table: a row per run, a column per param that
 * differs across the runs and per metric; filtered with `--where`, sorted, and
 * written as aligned text, Markdown, CSV or JSON.
 */
import { compileExpression } from 'filtrex';
import { flatParams, runSeconds, runStatus, type RunSummary } from '../engine/run-record.js';
import { canonicalJson } from '../util/hash.js';
import { didYouMean } from '../util/text.js';

export type Cell = string | number | boolean | null | undefined | object;

export interface RunTable {
  columns: { name: string; kind: 'run' | 'param' | 'metric' }[];
  rows: Record<string, Cell>[];
}

export class TableQueryError extends Error {}

export interface TableOptions {
  where?: string;
  /** A column name (or unique suffix); `-name` or `name:desc` sorts descending. */
  sort?: string;
  /** Also drop metric columns whose value is the same in every run. */
  onlyChanged?: boolean;
}

export function runTable(runs: RunSummary[], options: TableOptions = {}): RunTable {
  // Rows stay per-run maps until the columns are known: a thousand runs with a hundred params each.
  // A stage may record a metric named like one of its params (load's `classes`): the param column is then `param:<name>`.
  const metricSet = new Set(runs.flatMap((r) => Object.keys(r.metrics)));
  const entries = runs.map((r): Entry => {
    const params = flatParams(r);
    for (const name of Object.keys(params)) {
      if (metricSet.has(name)) {
        params[`param:${name}`] = params[name];
        delete params[name];
      }
    }
    return {
      run: { run: r.runId, pipeline: r.pipeline, result: runStatus(r), experiment: r.experiment?.name, 'ran on': r.hosts?.join(' '), seconds: Number(runSeconds(r).toFixed(1)) },
      metrics: r.metrics,
      params,
    };
  });
  const paramNames = [...new Set(entries.flatMap((e) => Object.keys(e.params)))];
  const metricNames = [...metricSet].sort();
  const known = [...paramNames, ...metricNames, ...Object.keys(entries[0]?.run ?? {})];
  let order = entries;
  if (options.where) order = order.filter(compileWhere(options.where, known, cellOf));
  if (options.sort) order = sortRows(order, options.sort, known, cellOf);
  const varies = (name: string) => new Set(order.map((e) => cellKey(cellOf(e, name)))).size > 1;
  const columns: RunTable['columns'] = [
    { name: 'run', kind: 'run' },
    { name: 'pipeline', kind: 'run' },
    { name: 'result', kind: 'run' },
    ...(order.some((e) => e.run.experiment) ? [{ name: 'experiment', kind: 'run' as const }] : []),
    ...(order.some((e) => e.run['ran on']) ? [{ name: 'ran on', kind: 'run' as const }] : []),
    { name: 'seconds', kind: 'run' },
    ...paramNames.filter(varies).map((name) => ({ name, kind: 'param' as const })),
    ...metricNames.filter((m) => !options.onlyChanged || varies(m)).map((name) => ({ name, kind: 'metric' as const })),
  ];
  return { columns, rows: order.map((e) => Object.fromEntries(columns.map((c) => [c.name, cellOf(e, c.name)]))) };
}

/** One run while the table is built: its run columns, metrics and flat params. */
interface Entry {
  run: Record<string, Cell>;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
}

function cellOf(entry: Entry, name: string): Cell {
  return name in entry.run ? entry.run[name] : name in entry.metrics ? entry.metrics[name] : (entry.params[name] as Cell);
}

/** The value of column `name` in `row`. */
type Lookup<R> = (row: R, name: string) => Cell;

function cellKey(v: Cell): unknown {
  return typeof v === 'object' && v !== null ? canonicalJson(v) : (v ?? null);
}

/** A column by exact name, or by a unique `.suffix` (`balanced800_accuracy` for `evaluate.balanced800_accuracy`). */
function resolveName(name: string, known: string[]): string {
  if (known.includes(name)) return name;
  const matches = known.filter((k) => k.endsWith(`.${name}`));
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  if (matches.length > 1) throw new TableQueryError(`"${name}" is ambiguous: ${matches.join(', ')}; write the full name`);
  const hint = didYouMean(name, known) || didYouMean(name, known.map((k) => k.slice(k.lastIndexOf('.') + 1)));
  throw new TableQueryError(`no param or metric "${name}" in these runs${hint}`);
}

/** Filtrex reads no exponents; turn `1e-3` into `0.001` outside quotes first. */
function plainNumbers(expression: string): string {
  return expression.replace(/('[^']*'|"[^"]*")|(?<![\w.])(\d+(?:\.\d+)?[eE][-+]?\d+)(?![\w.])/g, (whole, quoted: string | undefined, number: string) =>
    quoted ?? Number(number).toFixed(20).replace(/\.?0+$/, ''));
}

/** -1, 0 or 1 for two numbers or two strings; NaN, which fails every ordering test, for anything else. */
function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return NaN;
}

/** A run without the metric (failed, stopped) fails an ordering test instead of aborting the query. */
const MISSING_IS_FALSE = {
  '==': (a: unknown, b: unknown) => a === b,
  '!=': (a: unknown, b: unknown) => a !== b,
  '<': (a: unknown, b: unknown) => compareValues(a, b) < 0,
  '<=': (a: unknown, b: unknown) => compareValues(a, b) <= 0,
  '>': (a: unknown, b: unknown) => compareValues(a, b) > 0,
  '>=': (a: unknown, b: unknown) => compareValues(a, b) >= 0,
};

export function compileWhere<R>(expression: string, known: string[], cell: Lookup<R>): (row: R) => boolean {
  let test: (row: R) => unknown;
  const resolved = new Map<string, string>();
  try {
    test = compileExpression(plainNumbers(expression), {
      customProp: (name: string, _get: unknown, row: R) => {
        let column = resolved.get(name);
        if (column === undefined) resolved.set(name, (column = resolveName(name, known)));
        return cell(row, column) ?? null;
      },
      operators: MISSING_IS_FALSE,
    });
  } catch (err) {
    throw new TableQueryError(`--where "${expression}": ${(err as Error).message.split('\n').slice(0, 3).join(' ')}; names with "-" go in single quotes ('build-model.seed')`);
  }
  return (row) => {
    const result = test(row);
    if (result instanceof Error) throw new TableQueryError(`--where "${expression}": ${result.message}`);
    return result === true;
  };
}

function sortRows<R>(order: R[], spec: string, known: string[], cell: Lookup<R>): R[] {
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
    return [`| ${names.map(esc).join(' | ')} |`, `|${table.columns.map((c) => (c.kind === 'run' ? '---' : '---:')).join('|')}|`, ...cells.map((c) => `| ${c.map(esc).join(' | ')} |`)].join('\n');
  }
  const columns = table.columns.map((c, i) => ({ ...c, width: Math.max(c.name.length, ...cells.map((row) => row[i]?.length ?? 0)) }));
  const line = (c: string[]) => c.map((s, i) => (columns[i]?.kind === 'run' ? s.padEnd(columns[i].width) : s.padStart(columns[i]?.width ?? 0))).join('  ').trimEnd();
  return [line(table.columns.map((c) => (c.kind === 'run' ? c.name.toUpperCase() : c.name))), ...cells.map(line)].join('\n');
}
