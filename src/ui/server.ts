/**
 * `inkflow ui`: the dashboard's HTTP server (Hono on Node). It reads run records
 * and the artifact store directly, pages and sorts runs on the server, starts
 * and cancels runs as child processes, and pushes live updates over SSE.
 */
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { getCookie, setCookie } from 'hono/cookie';
import { serve, type ServerType } from '@hono/node-server';
import { contentType, fileInside } from './files.js';
import { isRunId, RunRecords, type RunSummary } from './records.js';
import { EvaluationSamples, runDetails } from './run-details.js';
import { Jobs, type Job, type LiveMessage } from './jobs.js';
import { checkOverrides, describePipeline, listPipelines, pipelineFiles } from './pipelines.js';
import { listModels } from './models.js';
import { readUpload, ReadError } from './read-line.js';
import { diffRuns } from '../cli/commands/runs.js';
import { flatParams } from '../engine/run-record.js';
import { ConfigError } from '../errors.js';

export interface UiOptions {
  workspace: string;
  /** Required whenever the server listens beyond loopback: the dashboard can start runs. */
  token?: string;
  /** Runs the dashboard executes at once (more queue). */
  concurrency?: number;
  /** The Redis of `inkflow worker`s, for the queue and workers panel. */
  redisUrl?: string;
}

const WEB_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));
const require = createRequire(import.meta.url);

/** Browser bundles served from node_modules, so the dashboard works offline (no CDN). */
const VENDOR: Record<string, [pkg: string, file: string]> = {
  'vega.js': ['vega', 'build/vega.min.js'],
  'vega-lite.js': ['vega-lite', 'build/vega-lite.min.js'],
  'vega-embed.js': ['vega-embed', 'build/vega-embed.min.js'],
  'tf.js': ['@tensorflow/tfjs', 'dist/tf.min.js'],
  'tf-backend-wasm.js': ['@tensorflow/tfjs-backend-wasm', 'dist/tf-backend-wasm.min.js'],
  'tfjs-backend-wasm.wasm': ['@tensorflow/tfjs-backend-wasm', 'dist/tfjs-backend-wasm.wasm'],
  'tfjs-backend-wasm-simd.wasm': ['@tensorflow/tfjs-backend-wasm', 'dist/tfjs-backend-wasm-simd.wasm'],
  'tfjs-backend-wasm-threaded-simd.wasm': ['@tensorflow/tfjs-backend-wasm', 'dist/tfjs-backend-wasm-threaded-simd.wasm'],
};

function packageDir(name: string): string {
  const entry = require.resolve(name);
  const marker = `${sep}node_modules${sep}${name.split('/').join(sep)}${sep}`;
  const at = entry.lastIndexOf(marker);
  return at >= 0 ? entry.slice(0, at + marker.length - 1) : dirname(entry);
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>inkflow</title>
<link rel="stylesheet" href="/assets/app.css">
<link rel="icon" href="data:,">
</head>
<body>
<header class="top"><a class="brand" href="#/runs">inkflow</a>
<nav><a href="#/runs">Runs</a><a href="#/compare">Compare</a><a href="#/pipelines">Pipelines</a><a href="#/playground">Playground</a></nav>
<span id="live" class="live" title="live updates">●</span></header>
<main id="app"></main>
<script src="/assets/app.js"></script>
</body>
</html>
`;

export function createUiApp(options: UiOptions) {
  const { workspace } = options;
  const records = new RunRecords(join(workspace, 'logs', 'runs'));
  const jobs = new Jobs(workspace, options.concurrency ?? 1);
  const samples = new EvaluationSamples(workspace);
  // Read the run records now, so the first page load finds them parsed.
  void records.all();
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof ConfigError) return c.json({ error: err.message }, 400);
    process.stderr.write(`inkflow ui: ${c.req.method} ${c.req.path}: ${err.stack ?? err}\n`);
    return c.json({ error: 'internal error; see the server log' }, 500);
  });

  app.use('*', async (c, next) => {
    // Plain-form POSTs from other sites (CSRF) cannot send JSON without a CORS preflight this server never grants.
    if (c.req.method === 'POST' && !(c.req.header('content-type') ?? '').startsWith('application/json') && c.req.path !== '/api/read') {
      return c.json({ error: 'send JSON (content-type: application/json)' }, 415);
    }
    if (c.req.method === 'POST' && c.req.path === '/api/read' && c.req.header('x-inkflow') !== '1') return c.json({ error: 'missing x-inkflow header' }, 403);
    if (options.token && !authorized(c, options.token)) {
      const offered = c.req.query('token');
      if (offered && safeEqual(offered, options.token)) {
        setCookie(c, 'inkflow_token', options.token, { httpOnly: true, sameSite: 'Strict', path: '/' });
        return c.redirect('/');
      }
      return c.text('inkflow ui: open the address printed at start-up (it carries the access token)', 401);
    }
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    await next();
  });

  app.get('/', (c) => {
    c.header('content-security-policy', "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-eval'; connect-src 'self'");
    return c.html(INDEX_HTML);
  });
  app.get('/assets/:file', async (c) => {
    const file = await fileInside(WEB_DIR, c.req.param('file'));
    return file ? sendFile(c, file, 'no-cache') : c.notFound();
  });
  app.get('/vendor/:file', async (c) => {
    const entry = VENDOR[c.req.param('file')];
    if (!entry) return c.notFound();
    return sendFile(c, join(packageDir(entry[0]), entry[1]), 'public, max-age=86400');
  });

  // Artifact and model files: resolved inside their folder, symlinks followed and re-checked.
  for (const [prefix, folder] of [['/artifacts/', 'artifacts'], ['/models/', 'models']] as const) {
    app.get(`${prefix}*`, async (c) => {
      let rel: string;
      try {
        rel = decodeURIComponent(new URL(c.req.url).pathname.slice(prefix.length));
      } catch {
        return c.notFound();
      }
      const file = await fileInside(join(workspace, folder), rel);
      return file ? sendFile(c, file, 'private, max-age=60') : c.notFound();
    });
  }

  app.get('/api/runs', async (c) => {
    const q = c.req.query();
    const page = await records.page({
      offset: intOr(q.offset, 0),
      limit: intOr(q.limit, 100),
      sort: q.sort || undefined,
      descending: q.desc === undefined ? undefined : q.desc === '1',
      filter: q.filter || undefined,
      pipeline: q.pipeline || undefined,
      status: q.status || undefined,
    }, liveRows(jobs.list()));
    return c.json(page);
  });

  app.get('/api/runs/:id', async (c) => {
    const id = c.req.param('id');
    const record = await records.get(id);
    if (record) return c.json({ details: await runDetails(record, workspace) });
    const job = jobs.byRunId(id) ?? jobs.get(id);
    return job ? c.json({ job }) : c.json({ error: `no run "${id}"` }, 404);
  });

  app.get('/api/runs/:id/logs/:stage', async (c) => {
    const { id, stage } = c.req.param();
    if (!isRunId(id) || !/^[a-z][a-z0-9_-]*$/.test(stage)) return c.notFound();
    const file = await fileInside(join(workspace, 'logs', 'runs'), join(id, stage, 'stage.log'));
    if (!file) return c.text('', 200);
    return c.text(await readFile(file, 'utf8'));
  });

  app.get('/api/runs/:id/cell', async (c) => {
    const record = await records.get(c.req.param('id'));
    if (!record) return c.notFound();
    const indices = await samples.cell(record, c.req.query('true') ?? '', c.req.query('predicted') ?? '');
    return indices ? c.json({ indices }) : c.json({ error: 'this run has no evaluated test set in the store' }, 404);
  });

  app.get('/api/runs/:id/samples/:index', async (c) => {
    const record = await records.get(c.req.param('id'));
    const png = record && (await samples.png(record, Number(c.req.param('index').replace(/\.png$/, ''))));
    if (!png) return c.notFound();
    return c.body(png as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'image/png', 'cache-control': 'private, max-age=3600' });
  });

  app.get('/api/compare', async (c) => {
    const ids = (c.req.query('ids') ?? '').split(',').filter(isRunId).slice(0, 50);
    const found = (await Promise.all(ids.map((id) => records.get(id)))).filter((r) => r !== undefined);
    const runs = await Promise.all(found.map((r) => runDetails(r, workspace)));
    const [first, second] = found;
    const diff = first && second ? diffRuns(first, second) : undefined;
    // runDetails has redacted the params already.
    return c.json({ runs: runs.map((r) => ({ runId: r.runId, pipeline: r.pipeline, status: r.status, sweep: r.sweep, epochs: r.epochs, metrics: r.metrics, params: flatParams(r) })), diff });
  });

  app.get('/api/sweeps', async (c) => {
    const saved = await jobs.sweeps();
    const fromRecords = new Map<string, string[]>();
    for (const { record } of await records.all()) {
      const sweep = (record as { experiment?: { sweep?: string } }).experiment?.sweep;
      if (sweep) fromRecords.set(sweep, [...(fromRecords.get(sweep) ?? []), record.runId]);
    }
    return c.json([
      ...saved.map((s) => ({ id: s.id, file: s.file, params: s.params, runs: s.runs })),
      ...[...fromRecords].filter(([id]) => !saved.some((s) => s.id === id)).map(([id, runs]) => ({ id, runs, params: [] as string[] })),
    ]);
  });

  app.get('/api/pipelines', async (c) => c.json(await listPipelines(workspace)));
  app.get('/api/pipeline', async (c) => {
    const file = await knownPipeline(workspace, c.req.query('file'));
    if (!file) return c.json({ error: 'unknown pipeline file' }, 404);
    const view = await describePipeline(workspace, file);
    const running = jobs.list().filter((j) => j.file === file && (j.status === 'running' || j.status === 'queued'));
    return c.json({ ...view, running });
  });

  app.post('/api/runs', async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as { file?: string; overrides?: Record<string, unknown>; sweep?: Record<string, unknown> } | undefined;
    const file = await knownPipeline(workspace, body?.file);
    if (!file) return c.json({ ok: false, general: ['unknown pipeline file'], errors: {} }, 400);
    const overrides = stringMap(body?.overrides);
    const sweep = body?.sweep ? Object.fromEntries(Object.entries(body.sweep).map(([k, v]) => [k, (Array.isArray(v) ? v : String(v).split(',')).map((x) => String(x).trim()).filter(Boolean)])) : undefined;
    if (!overrides) return c.json({ ok: false, general: ['overrides must map <stage>.<param> to a value'], errors: {} }, 400);
    // Every value a sweep will use is validated up front, each at its param.
    const errors: Record<string, string> = {};
    const general: string[] = [];
    const check = await checkOverrides(workspace, file, overrides);
    Object.assign(errors, check.errors);
    general.push(...check.general);
    for (const [key, values] of Object.entries(sweep ?? {})) {
      if (!values.length) errors[key] = 'give at least one value';
      for (const value of values) {
        const one = await checkOverrides(workspace, file, { ...overrides, [key]: value });
        if (!one.ok) errors[key] = `${value}: ${one.errors[key] ?? one.general.join('; ')}`;
      }
    }
    if (Object.keys(errors).length || general.length) return c.json({ ok: false, errors, general }, 400);
    const base = Object.entries(overrides).map(([k, v]) => `${k}=${v}`);
    if (sweep && Object.keys(sweep).length) {
      const started = await jobs.startSweep(file, base, sweep);
      return c.json({ ok: true, sweep: started.id, jobs: started.jobs });
    }
    return c.json({ ok: true, job: jobs.start(file, base).id });
  });

  app.post('/api/jobs/:id/cancel', (c) => (jobs.cancel(c.req.param('id')) ? c.json({ ok: true }) : c.json({ ok: false, error: 'no such running job' }, 404)));
  app.get('/api/jobs', (c) => c.json(jobs.list()));
  app.get('/api/workers', async (c) => {
    if (!options.redisUrl) return c.json({ configured: false });
    const [{ queueStatus }, { redactRedisUrl }] = await Promise.all([import('../distributed/status.js'), import('../distributed/redis-url.js')]);
    const redis = redactRedisUrl(options.redisUrl);
    try {
      return c.json({ configured: true, redis, ...(await queueStatus(options.redisUrl)) });
    } catch (err) {
      return c.json({ configured: true, redis, error: (err as Error).message });
    }
  });
  app.get('/api/models', async (c) => c.json(await listModels(workspace, records)));

  app.post('/api/read', async (c) => {
    const models = await listModels(workspace, records);
    // The chosen model, else a line model (they read whole lines), else any letter model.
    const model = models.find((m) => m.id === c.req.query('model')) ?? models.find((m) => m.type === 'line') ?? models[0];
    if (!model) return c.json({ error: 'no saved model yet: run a pipeline that saves one (pipelines/lines.yaml for a line model)' }, 404);
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length > 20e6) return c.json({ error: 'image larger than 20 MB' }, 413);
    try {
      return c.json({ ...(await readUpload(workspace, model, bytes)), model: model.label });
    } catch (err) {
      if (err instanceof ReadError) return c.json({ error: err.message }, 400);
      throw err;
    }
  });

  const listeners = new Set<(m: LiveMessage) => void>();
  jobs.on('message', (m) => listeners.forEach((l) => l(m)));
  app.get('/api/events', (c) => streamSSE(c, async (stream) => {
    const queue: LiveMessage[] = [];
    let wake: (() => void) | undefined;
    const listener = (m: LiveMessage) => {
      queue.push(m);
      wake?.();
    };
    listeners.add(listener);
    stream.onAbort(() => {
      listeners.delete(listener);
      wake?.();
    });
    await stream.writeSSE({ event: 'hello', data: '{}' });
    while (!stream.aborted) {
      if (!queue.length) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, 15_000);
        });
        clearTimeout(timer);
        wake = undefined;
        if (!queue.length && !stream.aborted) await stream.writeSSE({ event: 'ping', data: '{}' });
      }
      for (const m of queue.splice(0)) await stream.writeSSE({ event: m.type, data: JSON.stringify(m) });
    }
  }));

  /** Runs started elsewhere (the CLI, a schedule) show up live too: their records appear under logs/runs. */
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  const announce = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => listeners.forEach((l) => l({ type: 'runs-changed' })), 250);
  };
  try {
    mkdirSync(join(workspace, 'logs', 'runs'), { recursive: true });
    watcher = watch(join(workspace, 'logs', 'runs'), { recursive: true }, (_, name) => {
      if (name && String(name).endsWith('run.json')) announce();
    });
  } catch {
    // A workspace we cannot watch: runs the dashboard starts still announce themselves through the job events.
  }

  return {
    app,
    jobs,
    close() {
      watcher?.close();
      clearTimeout(debounce);
      jobs.stopAll();
    },
  };
}

export interface StartedUi {
  url: string;
  close(): Promise<void>;
}

export async function startUiServer(options: UiOptions & { host: string; port: number }): Promise<StartedUi> {
  const ui = createUiApp(options);
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(options.host);
  const handler = loopback ? guardHost(ui.app.fetch) : ui.app.fetch;
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: handler, hostname: options.host, port: options.port }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${port}/${options.token ? `?token=${encodeURIComponent(options.token)}` : ''}`,
    close: () => new Promise<void>((resolve) => {
      ui.close();
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

/** On loopback, only requests addressed to loopback are served: a DNS-rebinding page cannot reach the API. */
function guardHost(fetch: (req: Request) => Response | Promise<Response>) {
  return (req: Request) => {
    const host = (req.headers.get('host') ?? '').replace(/:\d+$/, '');
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) return new Response('unexpected Host header', { status: 421 });
    return fetch(req);
  };
}

function authorized(c: Context, token: string): boolean {
  const header = c.req.header('authorization');
  const offered = header?.startsWith('Bearer ') ? header.slice(7) : getCookie(c, 'inkflow_token');
  return offered !== undefined && safeEqual(offered, token);
}

function safeEqual(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

async function sendFile(c: Context, file: string, cache: string) {
  const body = await readFile(file).catch(() => undefined);
  if (!body) return c.notFound();
  return c.body(new Uint8Array(body.buffer, body.byteOffset, body.byteLength) as Uint8Array<ArrayBuffer>, 200, { 'content-type': contentType(file), 'cache-control': cache });
}

function intOr(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return Number.isInteger(n) ? n : fallback;
}

async function knownPipeline(workspace: string, file: unknown): Promise<string | undefined> {
  if (typeof file !== 'string') return undefined;
  return (await pipelineFiles(workspace)).find((f) => f === file);
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === '' || v === null || v === undefined) continue;
    if (typeof v === 'object') return undefined;
    out[k] = String(v);
  }
  return out;
}



/** Runs the dashboard is executing, as rows of the runs table until their record is written. */
function liveRows(list: Job[]): RunSummary[] {
  return list.filter((j) => j.status === 'running' || j.status === 'queued').map((j) => ({
    runId: j.runId ?? j.id,
    pipeline: j.pipeline ?? j.file,
    status: 'running',
    startedAt: j.startedAt,
    seconds: (Date.now() - Date.parse(j.startedAt)) / 1000,
    backend: '',
    commit: '',
    sweep: j.sweep,
    ran: Object.values(j.stages).filter((s) => s === 'ran').length,
    cached: Object.values(j.stages).filter((s) => s === 'cached').length,
    params: {},
    metrics: {},
  }));
}
