/** Compare runs: overlaid curves, param and metric differences, and parallel coordinates for sweeps. */
import { compareCurvesSpec, parallelSpec, type EpochPoint } from '../../viz/specs.js';
import { chart, panelWidth } from './charts.js';
import { api, fmt, h, section, statusBadge } from './dom.js';

interface CompareRun { runId: string; pipeline: string; status: string; sweep?: string; epochs: EpochPoint[]; metrics: Record<string, number>; params: Record<string, unknown> }
interface SweepInfo { id: string; file?: string; params: string[]; runs: string[] }

export async function comparePage(root: HTMLElement, query: URLSearchParams): Promise<() => void> {
  const sweeps = await api<SweepInfo[]>('/api/sweeps');
  const sweepId = query.get('sweep');
  const sweep = sweeps.find((s) => s.id === sweepId);
  const ids = sweep ? sweep.runs : (query.get('ids') ?? '').split(',').filter(Boolean);
  const picker = h('select', { 'aria-label': 'sweep', onchange: (e: Event) => { const v = (e.target as HTMLSelectElement).value; location.hash = v ? `#/compare?sweep=${encodeURIComponent(v)}` : '#/compare'; } },
    h('option', { value: '' }, sweeps.length ? 'pick a sweep…' : 'no sweeps yet'), sweeps.map((s) => h('option', { value: s.id, selected: s.id === sweepId }, `${s.id} (${s.runs.length} runs${s.params.length ? `: ${s.params.join(', ')}` : ''})`)));
  root.replaceChildren(h('h1', {}, 'Compare'), h('div', { class: 'toolbar' }, picker, h('span', { class: 'muted' }, 'or select runs on the Runs page')));
  if (ids.length < 1) {
    root.append(h('p', { class: 'muted' }, 'Select two or more runs on the Runs page, or pick a sweep.'));
    return () => undefined;
  }
  const { runs } = await api<{ runs: CompareRun[] }>(`/api/compare?ids=${ids.map(encodeURIComponent).join(',')}`);
  const label = (r: CompareRun) => r.runId.replace(/^\d{4}-\d{2}-\d{2}T/, '').slice(0, 15);

  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].filter((k) => new Set(runs.map((r) => JSON.stringify(r.params[k] ?? null))).size > 1).sort();
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  // Fixed columns that wrap: one long value (a layer list, a path) must not push the other runs' columns off the page.
  const table = (keys: string[], get: (r: CompareRun, k: string) => unknown, highlight: boolean) => h('div', { class: 'table-wrap' }, h('table', { class: 'data compare' },
    h('thead', {}, h('tr', {}, h('th', {}, ''), runs.map((r) => h('th', {}, h('a', { href: `#/run/${encodeURIComponent(r.runId)}` }, label(r)), ' ', statusBadge(r.status))))),
    h('tbody', {}, keys.map((k) => {
      const values = runs.map((r) => get(r, k));
      const differs = new Set(values.map((v) => JSON.stringify(v ?? null))).size > 1;
      return h('tr', { class: highlight && differs ? 'differs' : '' }, h('th', {}, k), values.map((v) => h('td', { class: typeof v === 'number' ? 'num' : 'text' }, h('div', { class: 'clip' }, fmt(v)))));
    }))));

  root.append(h('p', { class: 'muted' }, `${runs.length} runs${sweep ? ` of ${sweep.id}` : ''}`));
  const withCurves = runs.filter((r) => r.epochs.length);
  if (withCurves.length) {
    const curves = h('div', { class: 'chart' });
    root.append(section('Training curves', curves));
    void chart(curves, compareCurvesSpec(withCurves.map((r) => ({ run: label(r), epochs: r.epochs })), { width: panelWidth(curves, 2) }));
  }
  root.append(section('Params that differ', paramKeys.length ? table(paramKeys, (r, k) => r.params[k], false) : h('p', { class: 'muted' }, 'identical params')));
  root.append(section('Metrics', metricKeys.length ? table(metricKeys, (r, k) => r.metrics[k], true) : h('p', { class: 'muted' }, 'no metrics recorded')));

  const numericParams = paramKeys.filter((k) => runs.every((r) => typeof r.params[k] === 'number'));
  // Metrics that differ between the runs, the quality ones (accuracy, loss, error rates) first.
  const varies = (k: string) => new Set(runs.map((r) => r.metrics[k])).size > 1;
  const quality = (k: string) => (/accuracy|loss|cer|wer/.test(k) && !/per_second/.test(k) ? 0 : 1);
  const keyMetrics = metricKeys.filter(varies).sort((a, b) => quality(a) - quality(b)).slice(0, 4);
  if (runs.length >= 2 && numericParams.length + keyMetrics.length >= 2) {
    const host = h('div', { class: 'chart', 'data-chart': 'parallel' });
    root.append(section(sweep ? 'Sweep: parallel coordinates' : 'Parallel coordinates', host));
    const dims = [...numericParams, ...keyMetrics];
    const rows = runs.map((r) => ({ run: label(r), ...Object.fromEntries(dims.map((d) => [d, (r.params[d] ?? r.metrics[d]) as number])) }));
    void chart(host, parallelSpec(rows, dims, keyMetrics.find((k) => /accuracy/.test(k)), { width: Math.min(panelWidth(host) + 60, Math.max(320, dims.length * 140)) }));
  }
  document.body.dataset.ready = 'compare';
  return () => undefined;
}
