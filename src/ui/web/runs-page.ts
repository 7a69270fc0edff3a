/** Runs table: paged, sorted and filtered on the server; params that vary and metrics as columns. */
import { api, fmt, h, seconds, statusBadge, when } from './dom.js';

interface RunRow {
  runId: string;
  pipeline: string;
  status: string;
  startedAt: string;
  seconds: number;
  backend: string;
  commit: string;
  sweep?: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
}
interface RunPage { total: number; offset: number; rows: RunRow[]; paramColumns: string[]; metricColumns: string[]; pipelines: string[] }

const PAGE = 100;
const state = { sort: 'startedAt', desc: true, filter: '', pipeline: '', status: '', offset: 0 };
const selected = new Set<string>();
const HIDDEN_KEY = 'inkflow.hiddenColumns';

function hidden(): Set<string> {
  try {
    return new Set(JSON.parse(localStorage.getItem(HIDDEN_KEY) ?? '[]') as string[]);
  } catch {
    return new Set();
  }
}

export async function runsPage(root: HTMLElement): Promise<() => void> {
  const tableHost = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });
  const filter = h('input', { type: 'search', placeholder: 'filter runs (id, pipeline, status, param values)', value: state.filter, 'aria-label': 'filter runs' });
  const pipelineSelect = h('select', { 'aria-label': 'pipeline' }, h('option', { value: '' }, 'all pipelines'));
  const statusSelect = h('select', { 'aria-label': 'status' }, ['', 'ok', 'failed', 'cancelled', 'stopped', 'running'].map((s) => h('option', { value: s }, s || 'any status')));
  statusSelect.value = state.status;
  const columnsMenu = h('details', { class: 'columns' }, h('summary', {}, 'Columns'));
  const compareButton = h('button', { class: 'primary', disabled: true, onclick: () => { location.hash = `#/compare?ids=${[...selected].join(',')}`; } }, 'Compare selected');
  const total = h('span', { class: 'muted' });
  const workersHost = h('div', { class: 'workers-panel' });
  root.replaceChildren(
    h('h1', {}, 'Runs'),
    workersHost,
    h('div', { class: 'toolbar' }, filter, pipelineSelect, statusSelect, columnsMenu, compareButton, total),
    tableHost,
    pager,
  );
  workersPanel(workersHost);
  let timer: number | undefined;
  let lastPage: RunPage | undefined;
  filter.addEventListener('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => {
      state.filter = filter.value;
      state.offset = 0;
      void load();
    }, 200);
  });
  pipelineSelect.addEventListener('change', () => { state.pipeline = pipelineSelect.value; state.offset = 0; void load(); });
  statusSelect.addEventListener('change', () => { state.status = statusSelect.value; state.offset = 0; void load(); });

  const render = (page: RunPage) => {
    lastPage = page;
    const hide = hidden();
    if (pipelineSelect.options.length !== page.pipelines.length + 1) {
      pipelineSelect.replaceChildren(h('option', { value: '' }, 'all pipelines'), ...page.pipelines.map((p) => h('option', { value: p }, p)));
      pipelineSelect.value = state.pipeline;
    }
    const base: [string, string][] = [['runId', 'run'], ['pipeline', 'pipeline'], ['status', 'status'], ['startedAt', 'started'], ['seconds', 'duration'], ['backend', 'backend'], ['commit', 'commit']];
    const all: [string, string, 'base' | 'param' | 'metric'][] = [...base.map(([k, l]) => [k, l, 'base'] as [string, string, 'base']), ...page.paramColumns.map((c) => [c, c, 'param'] as [string, string, 'param']), ...page.metricColumns.map((c) => [c, c, 'metric'] as [string, string, 'metric'])];
    const shown = all.filter(([k]) => !hide.has(k));
    columnsMenu.replaceChildren(h('summary', {}, `Columns (${shown.length}/${all.length})`), h('div', { class: 'menu' }, all.map(([k, label, kind]) => h('label', {}, h('input', {
      type: 'checkbox', checked: !hide.has(k), onchange: (e: Event) => {
        const set = hidden();
        if ((e.target as HTMLInputElement).checked) set.delete(k);
        else set.add(k);
        localStorage.setItem(HIDDEN_KEY, JSON.stringify([...set]));
        render(lastPage!);
      },
    }), ` ${label}`, kind === 'base' ? '' : h('span', { class: 'muted' }, ` ${kind}`)))));
    const head = h('tr', {}, h('th', {}, ''), shown.map(([k, label, kind]) => h('th', {
      class: `sortable ${kind}${state.sort === k ? (state.desc ? ' desc' : ' asc') : ''}`,
      'data-column': k,
      onclick: () => {
        state.desc = state.sort === k ? !state.desc : kind === 'metric';
        state.sort = k;
        void load();
      },
    }, label)));
    const cell = (r: RunRow, key: string, kind: string): HTMLElement => {
      if (kind === 'param') return h('td', { class: 'num' }, fmt(r.params[key]));
      if (kind === 'metric') return h('td', { class: 'num' }, fmt(r.metrics[key]));
      switch (key) {
        case 'runId': return h('td', {}, h('a', { href: `#/run/${encodeURIComponent(r.runId)}` }, r.runId), r.sweep ? h('span', { class: 'tag', title: r.sweep }, 'sweep') : '');
        case 'status': return h('td', {}, statusBadge(r.status));
        case 'startedAt': return h('td', {}, when(r.startedAt));
        case 'seconds': return h('td', { class: 'num' }, seconds(r.seconds));
        case 'commit': return h('td', { class: 'mono' }, r.commit);
        case 'pipeline': return h('td', {}, fmt(r.pipeline));
        case 'backend': return h('td', {}, fmt(r.backend));
        default: return h('td', {}, fmt(undefined));
      }
    };
    const body = h('tbody', {}, page.rows.map((r) => h('tr', { 'data-run': r.runId },
      h('td', {}, h('input', {
        type: 'checkbox', 'aria-label': `select ${r.runId}`, checked: selected.has(r.runId), onchange: (e: Event) => {
          if ((e.target as HTMLInputElement).checked) selected.add(r.runId);
          else selected.delete(r.runId);
          compareButton.disabled = selected.size < 2;
        },
      })),
      shown.map(([k, , kind]) => cell(r, k, kind)))));
    tableHost.replaceChildren(page.rows.length ? h('table', { class: 'runs' }, h('thead', {}, head), body) : h('p', { class: 'muted' }, page.total ? 'no run matches' : 'No runs recorded yet: start one from the Pipelines page or with `inkflow run`.'));
    total.textContent = `${page.total} run${page.total === 1 ? '' : 's'}`;
    compareButton.disabled = selected.size < 2;
    pager.replaceChildren(
      h('button', { disabled: page.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - PAGE); void load(); } }, '← newer'),
      h('span', { class: 'muted' }, page.total ? `${page.offset + 1}–${page.offset + page.rows.length} of ${page.total}` : ''),
      h('button', { disabled: page.offset + page.rows.length >= page.total, onclick: () => { state.offset += PAGE; void load(); } }, 'older →'),
    );
  };

  const load = async () => {
    const q = new URLSearchParams({ offset: String(state.offset), limit: String(PAGE), sort: state.sort, desc: state.desc ? '1' : '0', filter: state.filter, pipeline: state.pipeline, status: state.status });
    render(await api<RunPage>(`/api/runs?${q}`));
    document.body.dataset.ready = 'runs';
    // The second animation frame starts after the table's first paint.
    requestAnimationFrame(() => requestAnimationFrame(() => { if (!performance.getEntriesByName('runs-table-painted').length) performance.mark('runs-table-painted'); }));
  };
  await load();
  return () => void load();
}

interface WorkersStatus {
  configured: boolean;
  redis?: string;
  error?: string;
  counts?: { waiting: number; active: number; delayed: number; failed: number };
  workers?: { id: string; host: string; concurrency: number; cpu: number; running: { stage: string; pipeline: string; runId: string; since: string }[] }[];
}

/** The stage queue and each worker's running stages, refreshed every few seconds (only when `inkflow ui` knows a Redis). */
function workersPanel(host: HTMLElement): void {
  const draw = (s: WorkersStatus) => {
    if (!s.configured) return host.replaceChildren();
    if (s.error) return host.replaceChildren(h('p', { class: 'muted' }, `workers: ${s.error}`));
    const c = s.counts!;
    host.replaceChildren(h('details', { open: true },
      h('summary', {}, `Workers: ${s.workers!.length} live; queue ${c.waiting} waiting, ${c.active} running, ${c.delayed} to retry, ${c.failed} failed (${s.redis})`),
      s.workers!.length ? h('table', { class: 'data' }, h('thead', {}, h('tr', {}, ['worker', 'host', 'slots', 'running'].map((t) => h('th', {}, t)))),
        h('tbody', {}, s.workers!.map((w) => h('tr', {}, h('td', { class: 'mono' }, w.id), h('td', {}, w.host), h('td', { class: 'num' }, `${w.running.length}/${w.concurrency}`),
          h('td', {}, w.running.map((r) => h('a', { href: `#/run/${encodeURIComponent(r.runId)}` }, `${r.stage} (${r.pipeline})`)).flatMap((a, i) => (i ? [', ', a] : [a])).concat(w.running.length ? [] : ['idle'])))))) : h('p', { class: 'muted' }, 'no live workers')));
  };
  const tick = async () => {
    let status: WorkersStatus | undefined;
    try {
      status = await api<WorkersStatus>('/api/workers');
      draw(status);
    } catch {
      // The server went away; the runs table says so.
    }
    // Polls while the runs page shows it, and only when there is a queue to watch.
    if (status?.configured && host.isConnected) window.setTimeout(() => void tick(), 3000);
  };
  void tick();
}
