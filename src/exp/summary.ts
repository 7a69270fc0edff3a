/** The end of a sweep: the best run, the metric for each value of each swept param, and a PNG of metric against each param. */
import { join } from 'node:path';
import { flatMetrics, type RunRecord } from '../engine/run-record.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { renderChartsPng, type ChartPanel } from './charts.js';
import type { ExperimentResult } from './runner.js';
import { formatCell, renderTable, type Cell, type RunTable } from './run-table.js';
import { formatValue, type Goal } from './sweep.js';
import { canonicalJson } from '../util/hash.js';

export interface SweepSummary {
  sweep: string;
  metric: string;
  goal: Goal;
  params: string[];
  runs: { name: string; runId?: string; status: string; reason?: string; overrides: Record<string, unknown>; value?: number }[];
  best?: { name: string; runId: string; value: number };
  byParam: { param: string; values: { value: unknown; mean: number; best: number; count: number }[] }[];
}

/** The metric's full name in a run's metrics: exact, or the unique one ending in `.name`. */
export function metricValue(metrics: Record<string, number>, name: string): number | undefined {
  if (name in metrics) return metrics[name];
  const matches = Object.keys(metrics).filter((k) => k.endsWith(`.${name}`));
  const only = matches.length === 1 ? matches[0] : undefined;
  return only === undefined ? undefined : metrics[only];
}

/** Without a chosen metric: a final accuracy if there is one, else the first metric recorded. */
export function defaultMetric(records: RunRecord[]): string | undefined {
  const names = [...new Set(records.flatMap((r) => Object.keys(flatMetrics(r))))].sort();
  return names.find((n) => /accuracy$/.test(n) && !n.startsWith('train.')) ?? names[0];
}

export function summarizeSweep(sweep: string, results: ExperimentResult[], records: Map<string, RunRecord>, metric: string, goal: Goal): SweepSummary {
  const runs = results.map((r) => {
    const record = r.runId ? records.get(r.runId) : undefined;
    const value = record && r.status === 'ok' ? metricValue(flatMetrics(record), metric) : undefined;
    return { name: r.experiment.variant.name, runId: r.runId, status: r.status, reason: r.reason, overrides: r.experiment.variant.overrides, value };
  });
  const params = [...new Set(runs.flatMap((r) => Object.keys(r.overrides)))].filter((p) => new Set(runs.map((r) => canonicalJson(r.overrides[p] ?? null))).size > 1);
  const scored = runs.filter((r) => r.value !== undefined && r.runId) as (typeof runs[number] & { value: number; runId: string })[];
  const better = (a: number, b: number) => (goal === 'maximize' ? a > b : a < b);
  const best = scored.reduce<typeof scored[number] | undefined>((b, r) => (!b || better(r.value, b.value) ? r : b), undefined);
  const byParam = params.map((param) => {
    const groups = new Map<string, { value: unknown; values: number[] }>();
    for (const r of scored) {
      const key = canonicalJson(r.overrides[param] ?? null);
      const group = groups.get(key) ?? { value: r.overrides[param], values: [] };
      group.values.push(r.value);
      groups.set(key, group);
    }
    const values = [...groups.values()].map((g) => ({
      value: g.value,
      mean: g.values.reduce((s, v) => s + v, 0) / g.values.length,
      best: g.values.reduce((b, v) => (better(v, b) ? v : b)),
      count: g.values.length,
    }));
    values.sort((a, b) => (typeof a.value === 'number' && typeof b.value === 'number' ? a.value - b.value : String(a.value).localeCompare(String(b.value))));
    return { param, values };
  });
  return { sweep, metric, goal, params, runs, best: best && { name: best.name, runId: best.runId, value: best.value }, byParam };
}

export function renderSummary(s: SweepSummary): string {
  const order = [...s.runs].sort((a, b) => (a.value === undefined ? 1 : b.value === undefined ? -1 : s.goal === 'maximize' ? b.value - a.value : a.value - b.value));
  const ranked: RunTable = {
    columns: [{ name: 'run', kind: 'run' }, { name: 'status', kind: 'run' }, ...s.params.map((name) => ({ name, kind: 'param' as const })), { name: s.metric, kind: 'metric' }],
    rows: order.map((r) => ({ run: r.runId ?? '-', status: r.status, ...Object.fromEntries(s.params.map((p) => [p, r.overrides[p] as Cell])), [s.metric]: r.value })),
  };
  const out = [`sweep ${s.sweep}: ${s.runs.length} run(s), ranked by ${s.metric} (${s.goal})`, '', renderTable(ranked, 'text'), ''];
  for (const r of s.runs.filter((r) => r.reason)) out.push(`${r.name}: ${r.status}: ${r.reason!.split('\n')[0]}`);
  if (s.best) out.push(`best: ${s.best.runId} (${s.best.name}) ${s.metric} = ${formatCell(s.best.value)}`);
  else out.push(`best: none (no run finished with ${s.metric})`);
  for (const p of s.byParam.filter((p) => p.values.length)) out.push(`  ${p.param}: ${p.values.map((v) => `${formatValue(v.value)} → ${formatCell(v.mean)}${v.count > 1 ? ` (mean of ${v.count})` : ''}`).join(', ')}`);
  return out.join('\n');
}

/** Writes summary.json and summary.png into `dir`; returns the PNG's path, if there was anything to plot. */
export async function writeSweepSummary(dir: string, s: SweepSummary): Promise<string | undefined> {
  await writeJsonAtomic(join(dir, 'summary.json'), s);
  const panels = s.byParam.filter((p) => p.values.length).map((p) => metricAgainstParam(p, s.metric));
  if (!panels.length) return undefined;
  const png = join(dir, 'summary.png');
  await writeFileAtomic(png, await renderChartsPng(panels));
  return png;
}

function metricAgainstParam(p: SweepSummary['byParam'][number], metric: string): ChartPanel {
  const numeric = p.values.every((v) => typeof v.value === 'number');
  const positive = numeric && p.values.every((v) => (v.value as number) > 0);
  const span = positive ? Math.max(...p.values.map((v) => v.value as number)) / Math.min(...p.values.map((v) => v.value as number)) : 1;
  const logX = positive && span >= 10;
  const x = (v: unknown, i: number) => (!numeric ? i : logX ? Math.log10(v as number) : (v as number));
  const xLabel = !numeric ? `${p.param} (${p.values.map((v, i) => `${i}=${formatValue(v.value)}`).join(', ')})` : logX ? `log10 ${p.param}` : p.param;
  return {
    title: `${metric} against ${p.param}`,
    xLabel,
    yLabel: metric,
    integerX: !numeric,
    series: [
      { name: p.values.some((v) => v.count > 1) ? 'mean' : metric, points: p.values.map((v, i) => [x(v.value, i), v.mean]) },
      ...(p.values.some((v) => v.count > 1) ? [{ name: 'best', points: p.values.map((v, i): [number, number] => [x(v.value, i), v.best]) }] : []),
    ],
  };
}
