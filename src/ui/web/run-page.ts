/** One run: status, timeline, curves (live while training), confusion matrix with drill-down, per-class table, lines, logs, downloads. */
import { confusionSpec, curvesSpec, timelineSpec, type EpochPoint, type TimelineStage } from '../../viz/specs.js';
import type { RunDetails } from '../run-details-shape.js';
import { chart, panelWidth } from './charts.js';
import { api, errorBox, fmt, h, kvTable, postJson, seconds, section, statusBadge, when } from './dom.js';

export interface Job { id: string; file: string; pipeline?: string; status: string; runId?: string; startedAt: string; stages: Record<string, string>; progress: Record<string, string>; epochs: EpochPoint[]; log: string[]; sweep?: string }

export async function runPage(root: HTMLElement, id: string): Promise<(msg?: { type: string; job?: Job }) => void> {
  const data = await api<{ details?: RunDetails; job?: Job }>(`/api/runs/${encodeURIComponent(id)}`);
  if (data.job && !data.details) return jobView(root, data.job);
  renderDetails(root, data.details!);
  return () => undefined;
}

/** A run the dashboard is executing: stage states, live curves and log until its record is written. */
function jobView(root: HTMLElement, initial: Job) {
  let job = initial;
  const stagesHost = h('div', { class: 'stage-list' });
  const progressHost = h('div', { class: 'progress mono' });
  const curvesHost = h('div', { class: 'chart' });
  const logHost = h('pre', { class: 'log' });
  const status = h('span', {});
  const cancel = h('button', { class: 'danger', onclick: async () => { cancel.disabled = true; await postJson(`/api/jobs/${job.id}/cancel`, {}); } }, 'Cancel run');
  root.replaceChildren(
    h('h1', {}, job.runId ?? job.id, ' ', status),
    h('p', { class: 'muted' }, `${job.file} · started ${when(job.startedAt)}`),
    h('div', { class: 'toolbar' }, cancel),
    section('Stages', stagesHost, progressHost),
    section('Training curves (live)', curvesHost),
    section('Log', logHost),
  );
  let epochsShown = -1;
  const draw = () => {
    status.replaceChildren(statusBadge(job.status));
    document.body.dataset.jobStatus = job.status;
    cancel.hidden = !(job.status === 'running' || job.status === 'queued');
    stagesHost.replaceChildren(...Object.entries(job.stages).map(([name, s]) => h('span', { class: `stage-chip ${s}` }, `${name}: ${s}`)));
    progressHost.replaceChildren(...Object.entries(job.progress ?? {}).map(([name, message]) => h('div', {}, `${name}: ${message}`)));
    if (job.epochs.length !== epochsShown) {
      epochsShown = job.epochs.length;
      if (job.epochs.length) void chart(curvesHost, curvesSpec([...job.epochs].sort((a, b) => a.epoch - b.epoch), { width: panelWidth(curvesHost, 2) }));
      else curvesHost.replaceChildren(h('p', { class: 'muted' }, 'no epochs yet'));
    }
    logHost.textContent = job.log.slice(-80).join('\n') || '(no output yet)';
    logHost.scrollTop = logHost.scrollHeight;
  };
  draw();
  return (msg?: { type: string; job?: Job }) => {
    if (msg?.type === 'job' && msg.job && msg.job.id === job.id) {
      job = msg.job;
      draw();
      if (job.status !== 'running' && job.status !== 'queued' && job.runId) {
        // The record is written: show the finished run's page.
        setTimeout(() => void runPage(root, job.runId!).catch((err) => root.replaceChildren(errorBox(err))), 300);
      }
    }
  };
}

function renderDetails(root: HTMLElement, d: RunDetails): void {
  const duration = (Date.parse(d.finishedAt) - Date.parse(d.startedAt)) / 1000;
  const env = d.environment ?? {};
  root.replaceChildren(
    h('h1', {}, d.runId, ' ', statusBadge(d.status)),
    h('p', { class: 'muted' }, `${d.pipeline} (${d.pipelineFile.split('/').slice(-2).join('/')}) · started ${when(d.startedAt)} · ${seconds(duration)} · ${d.trigger}`, d.sweep ? ` · ${d.sweep}` : '', d.stopReason ? ` · stopped: ${d.stopReason}` : ''),
    d.downloads.length ? h('div', { class: 'toolbar downloads' }, d.downloads.map((x) => h('a', { class: 'button', href: x.url, download: '' }, `⬇ ${x.name}`))) : '',
  );
  document.body.dataset.runStatus = d.status;
  const grid = h('div', { class: 'grid2' });
  grid.append(section('Metrics', kvTable(d.metrics)), section('Environment', kvTable({ backend: env.backend, node: env.node, platform: env.platform, inkflow: env.inkflow, 'git commit': env.gitCommit, ...(env.packages as object) })));
  root.append(grid);

  const timeline = h('div', { class: 'chart' });
  root.append(section('Stage timeline', timeline));
  void chart(timeline, timelineSpec(d.timeline, { width: panelWidth(timeline) }));
  const onWorkers = d.stages.filter((s) => s.ranOn);
  if (onWorkers.length) {
    const x = d.executor ?? {};
    const rows = onWorkers.map((s) => h('tr', {}, h('td', {}, s.name), h('td', {}, s.ranOn!.host), h('td', { class: 'mono' }, s.ranOn!.worker),
      h('td', { class: 'num' }, s.ranOn!.attempts), h('td', { class: 'num' }, seconds(s.ranOn!.queuedSeconds)), h('td', { class: 'num' }, seconds(s.seconds))));
    root.append(section(`Where stages ran: ${onWorkers.length} on workers via ${x.kind ?? 'a queue'} (${x.redis ?? ''}, peak queue depth ${x.peakQueueDepth ?? '?'})${x.remote ? `, results through ${x.remote}` : ''}`,
      h('table', { class: 'data workers' }, h('thead', {}, h('tr', {}, ['stage', 'host', 'worker', 'tries', 'queued', 'took'].map((c) => h('th', {}, c)))), h('tbody', {}, rows))));
  }
  const failed = d.stages.filter((s) => s.error);
  if (failed.length) root.append(section('Errors', failed.map((s) => h('div', {}, h('h3', {}, s.name), h('pre', { class: 'log' }, s.error!)))));

  if (d.epochs.length) {
    const curves = h('div', { class: 'chart' });
    root.append(section('Training curves', curves));
    void chart(curves, curvesSpec(d.epochs, { width: panelWidth(curves, 2) }));
  }

  if (d.report) {
    const r = d.report;
    const heat = h('div', { class: 'chart confusion' });
    const drill = h('div', { class: 'drill' }, h('p', { class: 'muted' }, 'Click a cell to see its test images (double-click clears).'));
    root.append(section(`Confusion matrix: ${(r.accuracy * 100).toFixed(2)}% of ${r.count} test images`, heat, drill));
    const cellSize = Math.max(14, Math.min(26, Math.floor((Math.min(root.clientWidth, 760) - 90) / r.classes.length)));
    void chart(heat, confusionSpec(r.confusion, r.classes, '', { cellSize })).then((result) => {
      result.view.addSignalListener('cell', (_, value) => {
        const v = value as { true?: string[]; predicted?: string[] } | undefined;
        const [t, p] = [v?.true?.[0], v?.predicted?.[0]];
        if (t !== undefined && p !== undefined) void showCell(d.runId, t, p, drill);
      });
    });
    const perClass = h('table', { class: 'data' }, h('thead', {}, h('tr', {}, ['class', 'precision', 'recall', 'F1', 'support'].map((c) => h('th', {}, c)))),
      h('tbody', {}, r.perClass.map((c) => h('tr', {}, h('td', {}, c.class), h('td', { class: 'num' }, fmt(c.precision)), h('td', { class: 'num' }, fmt(c.recall)), h('td', { class: 'num' }, fmt(c.f1)), h('td', { class: 'num' }, c.support)))));
    const confused = h('table', { class: 'data' }, h('thead', {}, h('tr', {}, ['true', 'predicted', 'count'].map((c) => h('th', {}, c)))),
      h('tbody', {}, r.mostConfused.slice(0, 12).map((c) => h('tr', { class: 'clickable', onclick: () => void showCell(d.runId, c.true, c.predicted, drill) }, h('td', {}, c.true), h('td', {}, c.predicted), h('td', { class: 'num' }, c.count)))));
    root.append(h('div', { class: 'grid2' }, section('Per class', h('div', { class: 'table-wrap short' }, perClass)), section('Most confused', confused)));
  }
  const misclassified = d.plots.find((p) => p.name === 'misclassified.png');
  if (misclassified) root.append(section('Misclassified test images', h('img', { class: 'plot', src: misclassified.url, alt: 'misclassified test images: true → predicted' })));

  if (d.lines?.length) {
    root.append(section('Worst lines and their readings',
      d.linesImage ? h('img', { class: 'plot', src: d.linesImage, alt: 'worst lines, errors in red' }) : '',
      h('div', { class: 'lines' }, d.lines.map((l) => h('figure', {},
        l.overlay ? h('img', { src: l.overlay, alt: l.truth, loading: 'lazy' }) : '',
        h('figcaption', {}, h('div', { class: 'muted mono' }, l.file), h('div', {}, h('b', {}, 'truth '), l.truth), h('div', {}, h('b', {}, 'read '), l.read),
          h('div', { class: 'muted' }, l.chars !== undefined ? `${l.charErrors} of ${l.chars} characters wrong` : `CER ${(l.cer * 100).toFixed(1)}%`)))))));
  }

  const paramsSection = section('Params', kvTable(Object.fromEntries(Object.entries(d.params).map(([k, v]) => [`params.${k}`, v]))),
    h('details', {}, h('summary', {}, 'Stage params'), Object.entries(d.stageParams).map(([stage, p]) => h('div', {}, h('h3', {}, stage), kvTable(p)))));
  root.append(paramsSection);

  const logSelect = h('select', { 'aria-label': 'stage log' }, d.stages.filter((s) => s.hasLog).map((s) => h('option', { value: s.name }, s.name)));
  const logView = h('pre', { class: 'log' }, '');
  const loadLog = async () => { logView.textContent = logSelect.value ? (await (await fetch(`/api/runs/${encodeURIComponent(d.runId)}/logs/${logSelect.value}`)).text()) || '(empty)' : 'no stage ran in this run (all cached): no logs'; };
  logSelect.addEventListener('change', () => void loadLog());
  root.append(section('Logs', h('div', { class: 'toolbar' }, logSelect), logView));
  void loadLog();
}

async function showCell(runId: string, t: string, p: string, host: HTMLElement): Promise<void> {
  host.replaceChildren(h('p', { class: 'muted' }, `loading ${t} → ${p}…`));
  try {
    const { indices } = await api<{ indices: number[] }>(`/api/runs/${encodeURIComponent(runId)}/cell?true=${encodeURIComponent(t)}&predicted=${encodeURIComponent(p)}`);
    host.replaceChildren(
      h('h3', {}, `true ${t} → predicted ${p}: ${indices.length}${indices.length === 60 ? '+' : ''} image${indices.length === 1 ? '' : 's'}`),
      h('div', { class: 'thumbs' }, indices.map((i) => h('img', { src: `/api/runs/${encodeURIComponent(runId)}/samples/${i}.png`, alt: `test image ${i}`, title: `test image #${i}` }))),
    );
  } catch (err) {
    host.replaceChildren(errorBox(err));
  }
}
