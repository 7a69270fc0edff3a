/** Pipelines: the DAG coloured by state, each stage's reason to rerun (as `inkflow status`), and starting runs or sweeps. */
import { api, errorBox, fmt, h, postJson, section, statusBadge } from './dom.js';
import type { Job } from './run-page.js';

interface ParamInfo { name: string; value: unknown; type?: string; description?: string; minimum?: number; maximum?: number; enum?: unknown[] }
interface StageState { stage: string; state: string; key?: string; reasons: string[] }
interface PipelineView {
  file: string; name: string; description?: string; params: ParamInfo[];
  stages: { name: string; uses: string; deps: string[]; params: ParamInfo[] }[];
  status: StageState[]; running: Job[];
}
interface StartResult { ok: boolean; errors?: Record<string, string>; general?: string[]; job?: string; sweep?: string }

export async function pipelinesPage(root: HTMLElement): Promise<() => void> {
  const list = await api<{ file: string; name?: string; description?: string; error?: string }[]>('/api/pipelines');
  root.replaceChildren(h('h1', {}, 'Pipelines'), list.length
    ? h('ul', { class: 'cards' }, list.map((p) => h('li', { class: 'card' },
      h('a', { href: `#/pipeline?file=${encodeURIComponent(p.file)}` }, h('b', {}, p.name ?? p.file)), ' ', h('span', { class: 'muted mono' }, p.file),
      p.description ? h('p', {}, p.description) : '', p.error ? h('pre', { class: 'error' }, p.error) : '')))
    : h('p', { class: 'muted' }, 'No pipeline files in this workspace\'s pipelines/ folder. Put your pipeline YAML files there (as in the inkflow repository: pipelines/letters.yaml) to see their DAG and run them from here; runs started with inkflow run elsewhere still show under Runs.'));
  document.body.dataset.ready = 'pipelines';
  return () => undefined;
}

export async function pipelinePage(root: HTMLElement, file: string): Promise<(msg?: { type: string; job?: Job }) => void> {
  let view = await api<PipelineView>(`/api/pipeline?file=${encodeURIComponent(file)}`);
  const dagHost = h('div', { class: 'dag' });
  const reasonsHost = h('div', {});
  const runningHost = h('div', {});
  const form = runForm(view, file);
  root.replaceChildren(
    h('h1', {}, view.name, ' ', h('span', { class: 'muted mono' }, file)),
    view.description ? h('p', {}, view.description) : '',
    section('Running', runningHost),
    section('DAG', dagHost, legend()),
    section('Why each stage would run (inkflow status)', reasonsHost),
    form,
  );
  const draw = () => {
    const jobStates: Record<string, string> = {};
    for (const j of view.running) for (const [s, st] of Object.entries(j.stages)) if (st === 'running' || st === 'failed') jobStates[s] = st;
    dagHost.replaceChildren(dagSvg(view, jobStates));
    reasonsHost.replaceChildren(h('table', { class: 'data' }, h('tbody', {}, view.status.map((s) => h('tr', {},
      h('th', {}, s.stage), h('td', {}, h('span', { class: `state ${jobStates[s.stage] ?? s.state}` }, jobStates[s.stage] ?? s.state)),
      h('td', {}, s.reasons.length ? h('ul', { class: 'reasons' }, s.reasons.map((r) => h('li', {}, r))) : h('span', { class: 'muted' }, 'up to date')))))));
    runningHost.replaceChildren(view.running.length ? h('ul', {}, view.running.map((j) => h('li', {},
      h('a', { href: `#/run/${encodeURIComponent(j.runId ?? j.id)}` }, j.runId ?? j.id), ' ', statusBadge(j.status), ' ',
      h('button', { class: 'danger small', onclick: () => void postJson(`/api/jobs/${j.id}/cancel`, {}) }, 'Cancel')))) : h('p', { class: 'muted' }, 'nothing running'));
  };
  draw();
  document.body.dataset.ready = 'pipeline';
  let pending: number | undefined;
  return (msg) => {
    if (msg?.type !== 'job' && msg?.type !== 'runs-changed') return;
    clearTimeout(pending);
    pending = window.setTimeout(async () => {
      view = await api<PipelineView>(`/api/pipeline?file=${encodeURIComponent(file)}`);
      draw();
    }, 400);
  };
}

function legend(): HTMLElement {
  return h('p', { class: 'legend' }, ['cached', 'stale', 'new', 'blocked', 'running', 'failed'].map((s) => h('span', { class: `state ${s}` }, s)));
}

/** Layered left-to-right layout: a stage's column is its longest path from a source. */
function dagSvg(view: PipelineView, jobStates: Record<string, string>): SVGSVGElement {
  const depth = new Map<string, number>();
  const byName = new Map(view.stages.map((s) => [s.name, s]));
  const depthOf = (name: string): number => {
    if (!depth.has(name)) depth.set(name, Math.max(-1, ...(byName.get(name)?.deps ?? []).map(depthOf)) + 1);
    return depth.get(name)!;
  };
  view.stages.forEach((s) => depthOf(s.name));
  const columns: string[][] = [];
  for (const s of view.stages) (columns[depth.get(s.name)!] ??= []).push(s.name);
  const [w, hgt, gx, gy] = [150, 38, 34, 12];
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, c) => col.forEach((name, r) => pos.set(name, { x: 10 + c * (w + gx), y: 10 + r * (hgt + gy) })));
  const width = 20 + columns.length * (w + gx) - gx;
  const height = 20 + Math.max(...columns.map((c) => c.length)) * (hgt + gy) - gy;
  const ns = 'http://www.w3.org/2000/svg';
  const el = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `DAG of ${view.name}` });
  const state = new Map(view.status.map((s) => [s.stage, s]));
  for (const s of view.stages) {
    const to = pos.get(s.name)!;
    for (const d of s.deps) {
      const from = pos.get(d)!;
      const [x1, y1, x2, y2] = [from.x + w, from.y + hgt / 2, to.x, to.y + hgt / 2];
      svg.append(el('path', { d: `M${x1},${y1} C${x1 + gx / 2},${y1} ${x2 - gx / 2},${y2} ${x2},${y2}`, class: 'edge' }));
    }
  }
  for (const s of view.stages) {
    const p = pos.get(s.name)!;
    const st = jobStates[s.name] ?? state.get(s.name)?.state ?? 'new';
    const g = el('g', { class: `node ${st}`, 'data-stage': s.name, 'data-state': st });
    const title = el('title', {}, `${s.name} (${s.uses}): ${st}${state.get(s.name)?.reasons.length ? '\n' + state.get(s.name)!.reasons.join('\n') : ''}`);
    g.append(title, el('rect', { x: p.x, y: p.y, width: w, height: hgt, rx: 6 }), el('text', { x: p.x + 8, y: p.y + 16, class: 'name' }, s.name.length > 20 ? s.name.slice(0, 19) + '…' : s.name), el('text', { x: p.x + 8, y: p.y + 31, class: 'uses' }, `${s.uses} · ${st}`));
    svg.append(g);
  }
  return svg;
}

function runForm(view: PipelineView, file: string): HTMLElement {
  const inputs = new Map<string, HTMLInputElement>();
  const errors = new Map<string, HTMLElement>();
  const field = (key: string, p: ParamInfo) => {
    const input = h('input', { name: key, placeholder: fmt(p.value), 'aria-label': key, title: [p.type, p.description, p.minimum !== undefined ? `≥ ${p.minimum}` : '', p.maximum !== undefined ? `≤ ${p.maximum}` : '', p.enum ? `one of ${p.enum.join(', ')}` : ''].filter(Boolean).join(' · ') });
    const error = h('span', { class: 'field-error', 'data-error-for': key });
    inputs.set(key, input);
    errors.set(key, error);
    return h('label', { class: 'param' }, h('span', { class: 'pname' }, p.name, p.type ? h('small', { class: 'muted' }, ` ${p.type}`) : ''), input, error);
  };
  const groups = [
    view.params.length ? h('details', { class: 'stage-params', open: true }, h('summary', {}, 'pipeline params'), view.params.map((p) => field(`params.${p.name}`, p))) : '',
    ...view.stages.filter((s) => s.params.length).map((s) => h('details', { class: 'stage-params', 'data-stage': s.name }, h('summary', {}, `${s.name} `, h('small', { class: 'muted' }, s.uses)), s.params.map((p) => field(`${s.name}.${p.name}`, p)))),
  ];
  const sweep = h('textarea', { name: 'sweep', rows: 2, placeholder: 'sweep, one param per line: train.epochs=1,2,3', 'aria-label': 'sweep' });
  const sweepError = h('div', { class: 'field-error', 'data-error-for': 'sweep' });
  const general = h('div', { class: 'field-error' });
  const result = h('div', {});
  const submit = h('button', { class: 'primary', type: 'submit' }, 'Start run');
  const form = h('form', { class: 'run-form', novalidate: true }, h('p', { class: 'muted' }, 'Leave a field empty to keep the pipeline\'s value. Values are typed and checked by the stage\'s schema, as `--set` is.'), groups, h('label', { class: 'param wide' }, h('span', { class: 'pname' }, 'sweep'), sweep), sweepError, h('div', { class: 'toolbar' }, submit), general, result);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errors.forEach((el) => (el.textContent = ''));
    sweepError.textContent = general.textContent = '';
    const overrides: Record<string, string> = {};
    for (const [key, input] of inputs) if (input.value.trim()) overrides[key] = input.value.trim();
    const grid: Record<string, string[]> = {};
    for (const line of sweep.value.split('\n').map((l) => l.trim()).filter(Boolean)) {
      const at = line.indexOf('=');
      if (at < 1) { sweepError.textContent = `"${line}": write <stage>.<param>=v1,v2`; return; }
      grid[line.slice(0, at).trim()] = line.slice(at + 1).split(',').map((v) => v.trim()).filter(Boolean);
    }
    submit.disabled = true;
    try {
      const res = await postJson<StartResult>('/api/runs', { file, overrides, ...(Object.keys(grid).length ? { sweep: grid } : {}) });
      if (!res.ok) {
        for (const [key, message] of Object.entries(res.errors ?? {})) {
          const el = errors.get(key);
          if (el) {
            el.textContent = message;
            (el.closest('details') as HTMLDetailsElement | null)?.setAttribute('open', '');
          } else sweepError.textContent += `${key}: ${message} `;
        }
        general.textContent = (res.general ?? []).join('\n');
        return;
      }
      result.replaceChildren(res.sweep
        ? h('p', {}, 'Sweep started: ', h('a', { href: `#/compare?sweep=${encodeURIComponent(res.sweep)}` }, res.sweep))
        : h('p', {}, 'Run started: ', h('a', { href: `#/run/${res.job}`, 'data-job': res.job! }, 'follow it live')));
    } catch (err) {
      result.replaceChildren(errorBox(err));
    } finally {
      submit.disabled = false;
    }
  });
  return section('Start a run or a sweep', form);
}
