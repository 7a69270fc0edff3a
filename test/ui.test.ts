/**
 * `inkflow ui` end to end: the real server as a child process on 127.0.0.1, real
 * run records and artifacts, and Debian's chromium driving every page.
 * Screenshots of each page go to test-output/ui/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { get } from 'node:http';
import { execa, type ResultPromise } from 'execa';
import type { BrowserContext, Page } from 'playwright-core';
import { CLI, DATA_DIR, inkflow, ROOT, workspace } from './helpers.js';
import { chromiumAvailable, drawLetterOnPad, launchChromium } from './browser.js';

const SHOTS = join(ROOT, 'test-output', 'ui');
const TINY = `name: tiny
description: two fixture stages, for dashboard tests
stages:
  a: { uses: ./stages/emit.ts, params: { text: a } }
  b: { uses: ./stages/emit.ts, inputs: { upstream: a.text }, params: { text: b } }
`;

let ws: string;
let server: ResultPromise | undefined;
let base: string;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
let context: BrowserContext;

async function startServer(cwd: string, args: string[] = []): Promise<{ child: ResultPromise; url: string }> {
  const child = execa('node', [CLI, 'ui', '--port', '0', ...args], { cwd, env: { INKFLOW_DATA_DIR: DATA_DIR, INKFLOW_BACKEND: process.env.INKFLOW_BACKEND ?? 'wasm' }, reject: false, buffer: false });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /inkflow ui: (http:\/\/\S+)/.exec(seen);
      if (m) resolve(m[1]);
    });
    child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    void child.then((r) => reject(new Error(`ui exited (${r.exitCode}) before listening: ${seen}`)));
  });
  return { child, url: url.replace(/\/(\?.*)?$/, '') };
}

/** Opens a page, collecting console errors and uncaught exceptions. */
async function open(hash: string, ready: (page: Page) => Promise<unknown>): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`);
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/${hash}`);
  await ready(page);
  return { page, errors };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

if (!chromiumAvailable()) console.warn('\n!!! dashboard browser tests SKIPPED: no chromium at /usr/bin/chromium (apt-get install chromium) !!!\n');

describe.skipIf(!chromiumAvailable())('inkflow ui in chromium', () => {
  beforeAll(async () => {
    ws = await workspace({ 'pipelines/tiny.yaml': TINY });
    await cp(join(ROOT, 'pipelines', 'quick.yaml'), join(ws, 'pipelines', 'quick.yaml'));
    for (const text of ['x1', 'x22', 'x333']) {
      const r = await inkflow(ws, ['run', 'pipelines/tiny.yaml', '--set', `a.text=${text}`, '--plain']);
      expect(r.exitCode, r.all).toBe(0);
    }
    await mkdir(SHOTS, { recursive: true });
    const started = await startServer(ws);
    server = started.child;
    base = started.url;
    browser = await launchChromium();
    context = browser.context;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
    await server;
  });

  it('refuses path traversal through artifact, model and log routes', async () => {
    for (const path of ['/artifacts/..%2f..%2fetc/passwd', '/artifacts/../../etc/passwd', '/artifacts/%2e%2e/%2e%2e/etc/passwd', '/models/..%2f..%2fetc/passwd', '/api/runs/..%2f..%2fetc/logs/passwd', '/assets/..%2f..%2fpackage.json']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('root:');
    }
    const inside = await fetch(`${base}/artifacts/tiny/b/text`);
    expect(inside.status).toBe(200);
    expect(await inside.text()).toContain('b+');
  });

  it('rejects cross-site and malformed requests', async () => {
    const form = await fetch(`${base}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'file=pipelines/tiny.yaml' });
    expect(form.status).toBe(415);
    // A DNS-rebinding page reaches 127.0.0.1 with its own name in Host.
    const rebinding = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${base}/api/runs`);
      get({ hostname: url.hostname, port: url.port, path: url.pathname, headers: { host: 'evil.example' } }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject);
    });
    expect(rebinding).toBe(421);
    const unknown = await fetch(`${base}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ file: '../../etc/passwd' }) });
    expect(unknown.status).toBe(400);
  });

  it('exposes itself beyond loopback only with a token, and then demands it', async () => {
    const refused = await inkflow(ws, ['ui', '--host', '0.0.0.0', '--port', '0']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('--token');
    const secured = await startServer(ws, ['--host', '127.0.0.2', '--token', 'correct-horse-battery']);
    try {
      expect((await fetch(`${secured.url}/api/runs`)).status).toBe(401);
      expect((await fetch(`${secured.url}/api/runs`, { headers: { authorization: 'Bearer wrong-token-value' } })).status).toBe(401);
      expect((await fetch(`${secured.url}/api/runs`, { headers: { authorization: 'Bearer correct-horse-battery' } })).status).toBe(200);
    } finally {
      secured.child.kill('SIGTERM');
      await secured.child;
    }
  });

  it('sorts and filters the runs table', async () => {
    const { page, errors } = await open('#/runs', (p) => p.waitForSelector('body[data-ready="runs"] table.runs tbody tr'));
    expect(await page.locator('table.runs tbody tr').count()).toBe(3);
    const column = page.locator('th[data-column="a.text"]');
    await column.click();
    await page.waitForSelector('th[data-column="a.text"].asc');
    const cells = () => page.locator('table.runs tbody tr').evaluateAll((rows) => rows.map((r) => [...(r as HTMLTableRowElement).cells].map((c) => c.textContent ?? '').join('|')));
    const texts = async () => (await cells()).map((row) => row.split('|').find((c) => /^x\d+$/.test(c)));
    await expect.poll(texts).toEqual(['x1', 'x22', 'x333']);
    await column.click();
    await expect.poll(texts).toEqual(['x333', 'x22', 'x1']);
    await page.fill('input[type=search]', 'x22');
    await expect.poll(async () => (await cells()).length).toBe(1);
    expect((await cells())[0]).toContain('x22');
    await page.fill('input[type=search]', '');
    await expect.poll(async () => (await cells()).length).toBe(3);
    // Hiding a column removes it from the table.
    await page.click('details.columns summary');
    await page.locator('details.columns label', { hasText: 'backend' }).locator('input').uncheck();
    await expect.poll(() => page.locator('th[data-column="backend"]').count()).toBe(0);
    await page.locator('details.columns label', { hasText: 'backend' }).locator('input').check();
    await page.click('details.columns summary');
    // A run started from a terminal appears without a reload (its record arrives over SSE).
    const cli = await inkflow(ws, ['run', 'pipelines/tiny.yaml', '--set', 'a.text=x4444', '--plain']);
    expect(cli.exitCode, cli.all).toBe(0);
    await expect.poll(texts, { timeout: 15_000 }).toContain('x4444');
    await shot(page, 'runs');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows inline errors for invalid params and starts a run whose status changes live', async () => {
    const { page, errors } = await open('#/pipeline?file=pipelines/quick.yaml', (p) => p.waitForSelector('body[data-ready="pipeline"] .dag svg'));
    expect(await page.locator('.dag g.node').count()).toBe(16);
    await page.locator('details[data-stage="train"] summary').click();
    await page.fill('input[name="train.epochs"]', '-2');
    await page.click('form.run-form button[type=submit]');
    await expect.poll(() => page.locator('[data-error-for="train.epochs"]').textContent()).toMatch(/>= 1|minimum|must be/);
    await shot(page, 'pipeline');
    await page.fill('input[name="train.epochs"]', '3');
    await page.click('form.run-form button[type=submit]');
    await page.click('a[data-job]');
    const seen = new Set<string>();
    await page.waitForFunction(() => document.body.dataset.jobStatus === 'running' || document.body.dataset.jobStatus === 'queued', undefined, { timeout: 30_000 });
    seen.add((await page.evaluate(() => document.body.dataset.jobStatus))!);
    await page.waitForSelector('.stage-chip.running, .stage-chip.ran', { timeout: 60_000 });
    await shot(page, 'run-live');
    await page.waitForFunction(() => document.body.dataset.runStatus === 'ok', undefined, { timeout: 280_000, polling: 500 });
    seen.add('ok');
    expect([...seen]).toEqual(expect.arrayContaining(['ok']));
    expect(seen.size).toBe(2);
    await page.waitForSelector('.confusion svg');
    // A click on an off-diagonal cell with errors lists its images.
    const cell = await page.evaluate(() => {
      const marks = [...document.querySelectorAll('.confusion svg g.mark-rect path')] as SVGGraphicsElement[];
      // aria-label: "predicted: b; true: a; ...; count: 3; ..." on an off-diagonal cell with errors.
      const target = marks.find((m) => {
        const label = /predicted: (\w); true: (\w);.*count: (\d+)/.exec(m.getAttribute('aria-label') ?? '');
        return label && label[1] !== label[2] && Number(label[3]) > 0;
      });
      target!.scrollIntoView({ block: 'center' });
      const box = target!.getBoundingClientRect();
      return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    });
    await page.mouse.click(cell.x, cell.y);
    await page.waitForSelector('.drill .thumbs img');
    await page.waitForFunction(() => [...document.querySelectorAll('.drill .thumbs img')].every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 28));
    await shot(page, 'run');
    // The one 400 is the answer to the deliberately invalid epochs, shown inline above.
    expect(errors.filter((e) => !/status of 400 .*\/api\/runs$/.test(e))).toEqual([]);
    expect(errors.length).toBeLessThanOrEqual(1);
    await page.close();
  }, 300_000);

  it('cancels a running run from the pipeline page', async () => {
    const started = await (await fetch(`${base}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ file: 'pipelines/tiny.yaml', overrides: { 'a.delay_ms': '60000', 'a.text': 'slow' } }) })).json() as { ok: boolean; job: string };
    expect(started.ok).toBe(true);
    const { page, errors } = await open('#/pipeline?file=pipelines/tiny.yaml', (p) => p.waitForSelector('body[data-ready="pipeline"]'));
    await page.waitForSelector('.dag g.node[data-state="running"]', { timeout: 30_000 });
    await page.click('button.danger');
    await expect.poll(async () => ((await (await fetch(`${base}/api/jobs`)).json()) as { id: string; status: string }[]).find((j) => j.id === started.job)?.status, { timeout: 30_000 }).toBe('cancelled');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a sweep started from the UI in the compare view', async () => {
    const { page, errors } = await open('#/pipeline?file=pipelines/tiny.yaml', (p) => p.waitForSelector('body[data-ready="pipeline"]'));
    await page.fill('textarea[name=sweep]', 'a.text=alpha,beta,gamma');
    await page.click('form.run-form button[type=submit]');
    await page.click('a[href^="#/compare?sweep="]');
    const sweepId = decodeURIComponent(new URL(page.url()).hash.split('sweep=')[1]);
    await expect.poll(async () => ((await (await fetch(`${base}/api/sweeps`)).json()) as { id: string; runs: string[] }[]).find((s) => s.id === sweepId)?.runs.length, { timeout: 60_000 }).toBe(3);
    await page.reload();
    await page.waitForSelector('body[data-ready="compare"] [data-chart="parallel"] svg');
    const header = await page.locator('table.data').first().textContent();
    expect(header).toContain('a.text');
    for (const value of ['alpha', 'beta', 'gamma']) expect(await page.locator('table.data').first().textContent()).toContain(value);
    await shot(page, 'compare');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('keeps every run\'s column on the page when one run has a very long param value', async () => {
    const long = `layers-${'conv2d_relu_'.repeat(60)}`;
    const r = await inkflow(ws, ['run', 'pipelines/tiny.yaml', '--set', `a.text=${long}`, '--plain']);
    expect(r.exitCode, r.all).toBe(0);
    const { rows } = (await (await fetch(`${base}/api/runs?pipeline=tiny`)).json()) as { rows: { runId: string; params?: Record<string, unknown> }[] };
    const ids = rows.slice(0, 2).map((row) => row.runId);
    const { page, errors } = await open(`#/compare?ids=${ids.join(',')}`, (p) => p.waitForSelector('body[data-ready="compare"] table.data'));
    const params = page.locator('table.data').first();
    expect(await params.textContent()).toContain(long.slice(0, 40));
    // The table fits its card, and the last run's header is inside the viewport.
    const fits = await params.evaluate((table) => table.scrollWidth <= table.parentElement!.clientWidth + 1);
    expect(fits).toBe(true);
    const lastHeader = await page.locator('table.data').first().locator('thead th').last().boundingBox();
    expect(lastHeader!.x + lastHeader!.width).toBeLessThanOrEqual(page.viewportSize()!.width);
    await shot(page, 'compare-long-param');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('predicts a letter drawn with the mouse in the browser, and reads an uploaded phrase', async () => {
    const { page, errors } = await open('#/playground', (p) => p.waitForFunction(() => window.inkflowPlayground).then(() => p.evaluate(() => window.inkflowPlayground!.ready)));
    await drawLetterOnPad(page);
    await page.waitForFunction(() => document.body.dataset.prediction);
    const top3 = await page.evaluate(() => document.body.dataset.prediction!);
    expect(top3).toHaveLength(3);
    expect(top3).toContain('l');
    // A phrase of real test letters (dark on paper, side by side), uploaded and read on the server.
    const runs = (await (await fetch(`${base}/api/runs?pipeline=quick`)).json()) as { rows: { runId: string }[] };
    const runId = runs.rows[0]!.runId;
    const { createCanvas, loadImage } = await import('@napi-rs/canvas');
    const phrase = createCanvas(28 * 4 + 40, 48);
    const g = phrase.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, phrase.width, phrase.height);
    for (let i = 0; i < 4; i++) {
      const png = Buffer.from(await (await fetch(`${base}/api/runs/${runId}/samples/${i * 20}.png`)).arrayBuffer());
      g.drawImage(await loadImage(png), 20 + i * 28, 10);
    }
    await page.setInputFiles('input[type=file]', { name: 'phrase.png', mimeType: 'image/png', buffer: await phrase.encode('png') });
    await page.waitForFunction(() => document.body.dataset.reading !== undefined, undefined, { timeout: 60_000 });
    expect(await page.locator('.reading').textContent()).toContain('segmentation + letter model');
    expect((await page.evaluate(() => document.body.dataset.reading!)).replace(/\s/g, '').length).toBeGreaterThan(0);
    await shot(page, 'playground');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('loads the pipelines list and the runs table on a phone screen without errors', async () => {
    const { page, errors } = await open('#/pipelines', (p) => p.waitForSelector('body[data-ready="pipelines"] ul.cards li'));
    expect(await page.locator('ul.cards li').count()).toBe(2);
    await shot(page, 'pipelines');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/#/runs`);
    await page.waitForSelector('body[data-ready="runs"] table.runs');
    await shot(page, 'runs-phone');
    expect(errors).toEqual([]);
    await page.close();
  });
});

declare global {
  interface Window { inkflowPlayground?: { ready: Promise<void> } }
}
