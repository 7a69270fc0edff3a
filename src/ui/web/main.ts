/** The dashboard's entry: a hash router over the pages, and one SSE connection for live updates. */
import './style.css';
import { errorBox, h } from './dom.js';
import { runsPage } from './runs-page.js';
import { runPage } from './run-page.js';
import { comparePage } from './compare-page.js';
import { pipelinePage, pipelinesPage } from './pipeline-page.js';
import { playgroundPage } from './playground.js';

type Live = { type: string; job?: never };
type Refresh = (msg?: Live) => void;

const app = document.getElementById('app')!;
let refresh: Refresh = () => undefined;
let generation = 0;

async function route(): Promise<void> {
  const mine = ++generation;
  const [path = '/runs', queryText] = (location.hash.replace(/^#/, '') || '/runs').split('?');
  const query = new URLSearchParams(queryText ?? '');
  const parts = path.split('/').filter(Boolean);
  delete document.body.dataset.ready;
  document.querySelectorAll('header nav a').forEach((a) => a.classList.toggle('active', path.startsWith((a as HTMLAnchorElement).hash.slice(1).replace(/s$/, ''))));
  const view = h('div', { class: 'page' });
  app.replaceChildren(view);
  try {
    let next: Refresh;
    switch (parts[0]) {
      case 'run': next = (await runPage(view, decodeURIComponent(parts[1] ?? ''))) as Refresh; break;
      case 'compare': next = await comparePage(view, query); break;
      case 'pipelines': next = await pipelinesPage(view); break;
      case 'pipeline': next = (await pipelinePage(view, query.get('file') ?? '')) as Refresh; break;
      case 'playground': next = await playgroundPage(view); break;
      default: next = await runsPage(view);
    }
    if (mine === generation) refresh = next;
  } catch (err) {
    if (mine === generation) view.replaceChildren(errorBox(err));
  }
}

function connect(): void {
  const dot = document.getElementById('live')!;
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => dot.classList.add('on'));
  source.addEventListener('error', () => dot.classList.remove('on'));
  let runsTimer: number | undefined;
  const deliver = (e: MessageEvent) => {
    const msg = JSON.parse(e.data) as Live;
    // The runs table reloads at most every half second however many events arrive.
    if (location.hash.startsWith('#/runs') || location.hash === '') {
      clearTimeout(runsTimer);
      runsTimer = window.setTimeout(() => refresh(msg), 500);
    } else refresh(msg);
  };
  source.addEventListener('job', deliver);
  source.addEventListener('runs-changed', deliver);
}

window.addEventListener('hashchange', () => void route());
void route();
connect();
