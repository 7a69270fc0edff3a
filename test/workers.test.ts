/**
 * Distributed execution with real processes: a real redis-server on a loopback port
 * (with a password, which must never show up anywhere), `inkflow worker` processes of the
 * built CLI, and `inkflow run --executor bullmq` runners. Stages are the fixture's
 * sleeping emit stage, so each case takes seconds.
 */
import { cp, mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, DATA_DIR, DEMO_PIPELINE, inkflow, ROOT, runJson, workspace } from './helpers.js';
import { startRedis, type RedisServer } from './servers/redis.js';
import { startS3, type S3Server } from './servers/s3.js';
import { runDetails } from '../src/ui/run-details.js';
import { chromiumAvailable, launchChromium } from './browser.js';

const PASSWORD = 'redis-secret-5f1c9a';
const AWS_SECRET = 'aws-secret-never-written-7d2e';
// Runner and workers must compute the same keys, so they share one backend, whichever tfjs-node builds exist.
const ENV = { INKFLOW_DATA_DIR: DATA_DIR, CI: '1', AWS_SECRET_ACCESS_KEY: AWS_SECRET, AWS_ACCESS_KEY_ID: 'AKIAWORKERSTEST', INKFLOW_BACKEND: process.env.INKFLOW_BACKEND ?? 'wasm' };

interface WorkerProcess {
  process: ResultPromise;
  id: string;
  lines: string[];
  /** Resolves with the first output line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

async function startWorker(cwd: string, redisUrl: string, args: string[] = [], env: Record<string, string> = ENV): Promise<WorkerProcess> {
  const child = execa('node', [CLI, 'worker', '--redis', redisUrl, '--stall-seconds', '2', ...args], { cwd, reject: false, env, all: true, buffer: false });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let rest = '';
  child.all!.on('data', (chunk: Buffer) => {
    rest += chunk.toString();
    const parts = rest.split('\n');
    rest = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) if (w.pattern.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const waitFor = (pattern: RegExp, timeoutMs = 30_000) => {
    const seen = lines.find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker never printed ${pattern}; it printed:\n${lines.join('\n')}`)), timeoutMs);
      waiters.push({ pattern, resolve: (line) => { clearTimeout(timer); resolve(line); } });
    });
  };
  const ready = await waitFor(/worker (\S+) ready/);
  const id = /worker (\S+) ready/.exec(ready)![1]!;
  return {
    process: child,
    id,
    lines,
    waitFor,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await child;
    },
  };
}

async function runRecord(ws: string, runId: string) {
  return JSON.parse(await readFile(join(ws, 'logs', 'runs', runId, 'run.json'), 'utf8'));
}

/** Every file under `dir` (logs, records) as one text, for looking for secrets. */
async function allText(dir: string): Promise<string> {
  let text = '';
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) text += await readFile(join(entry.parentPath, entry.name), 'utf8');
  }
  return text;
}

function expectNoSecrets(text: string): void {
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(AWS_SECRET);
}

describe('stages on BullMQ workers', () => {
  let redis: RedisServer;
  const workers: WorkerProcess[] = [];
  const started = async (cwd: string, args: string[] = []) => {
    const w = await startWorker(cwd, redis.url, args);
    workers.push(w);
    return w;
  };
  const stopWorkers = async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  };

  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
  });
  // Workers left running by a failed test would take the next test's jobs.
  afterEach(stopWorkers);
  afterAll(async () => {
    await stopWorkers();
    await redis?.stop();
  });

  it('runs a pipeline across two workers with the keys and metrics of a local run, recording where each stage ran', async () => {
    const files = { 'p.yaml': DEMO_PIPELINE.replace('params: { text: c, data: data.txt }', 'params: { text: c, data: data.txt, delay_ms: 1500 }').replace('params: { text: b }', 'params: { text: b, delay_ms: 300 }'), 'data.txt': 'some data\n' };
    const local = await workspace(files);
    const remote = await workspace(files);
    const here = await runJson(local, ['p.yaml'], ENV);
    expect(here.summary.ok).toBe(true);

    const [w1, w2] = [await started(remote), await started(remote)];
    const there = await runJson(remote, ['p.yaml', '--executor', 'bullmq', '--redis', redis.url], ENV);
    expect(there.summary.ok, there.result.all).toBe(true);
    expect(there.statuses).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    for (const stage of ['a', 'b', 'c', 'd']) expect(there.summary.stages[stage]!.key).toBe(here.summary.stages[stage]!.key);

    const localRecord = await runRecord(local, here.summary.runId);
    const record = await runRecord(remote, there.summary.runId);
    for (const stage of ['a', 'b', 'c', 'd']) expect(record.stages[stage].metrics).toEqual(localRecord.stages[stage].metrics);
    // The same bytes came out: d's text is built from every other stage's.
    expect(await readFile(join(remote, 'artifacts', 'demo', 'd', 'text'), 'utf8')).toBe(await readFile(join(local, 'artifacts', 'demo', 'd', 'text'), 'utf8'));
    // a and c start together, so both workers get work; each stage records its worker.
    const ranOn = Object.values(record.stages as Record<string, { ranOn: { worker: string; host: string; attempts: number } }>).map((s) => s.ranOn);
    expect(new Set(ranOn.map((r) => r.worker))).toEqual(new Set([w1.id, w2.id]));
    expect(ranOn.every((r) => r.host && r.attempts === 1)).toBe(true);
    expect(record.executor).toMatchObject({ kind: 'bullmq', redis: expect.stringContaining('***@127.0.0.1'), jobs: 4 });
    // Stage logs streamed back into the runner's events.
    expect(there.events.some((e) => e.event === 'stage-start' && e.stage === 'c' && /on .+ \(worker /.test(e.reason))).toBe(true);

    // The dashboard's run page gets the same: each stage's host and worker, and the queue.
    const details = await runDetails(record, remote);
    expect(details.stages.map((st) => st.ranOn?.worker).sort()).toEqual(ranOn.map((r) => r.worker).sort());
    expect(details.executor).toMatchObject({ kind: 'bullmq', peakQueueDepth: expect.any(Number) });
    const table = await inkflow(remote, ['runs', '--json'], ENV);
    expect(JSON.parse(table.stdout)).toEqual([expect.objectContaining({ run: there.summary.runId, 'ran on': ranOn[0]!.host })]);
    expectNoSecrets(there.result.all + (await allText(join(remote, 'logs'))) + workers.map((w) => w.lines.join('\n')).join('\n'));
  });

  it('spreads a sweep over the workers with exp run --executor bullmq', async () => {
    const ws = await workspace({
      'p.yaml': `name: sweep
stages:
  shared:
    uses: ./stages/emit.ts
    params: { text: shared }
  variant:
    uses: ./stages/curve.ts
    inputs: { upstream: shared.text }
    params: { rate: 1, epochs: 3, epoch_ms: 300 }
`,
    });
    const [w1, w2] = [await started(ws), await started(ws)];
    const sweep = await inkflow(ws, ['exp', 'run', 'p.yaml', '--set', 'variant.rate=1,2,3,4', '--jobs', '4', '--executor', 'bullmq', '--redis', redis.url, '--json'], ENV);
    expect(sweep.exitCode, sweep.all).toBe(0);
    const ends = sweep.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.event === 'experiment-end');
    expect(ends.map((e) => e.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const records = await Promise.all(ends.map((e) => runRecord(ws, e.runId)));
    expect(records.map((r) => r.stages.variant.metrics.score).sort((a, b) => a - b)).toEqual([3, 6, 9, 12]);
    // Epochs streamed back from the workers form each run's curve.
    expect(records.every((r) => r.stages.variant.epochs.length === 3)).toBe(true);
    const used = new Set(records.map((r) => r.stages.variant.ranOn.worker));
    expect(used).toEqual(new Set([w1.id, w2.id]));
    // The shared stage ran once, on a worker; the other variants found it cached.
    expect(records.filter((r) => r.stages.shared.status === 'ran')).toHaveLength(1);
    expectNoSecrets(sweep.all);
  });

  it('works off a queued sweep on the workers with exp start --executor bullmq', async () => {
    const ws = await workspace({ 'p.yaml': 'name: queued\nstages:\n  variant: { uses: ./stages/curve.ts, params: { rate: 1, epochs: 2, epoch_ms: 200 } }\n' });
    const [w1, w2] = [await started(ws), await started(ws)];
    expect((await inkflow(ws, ['exp', 'run', 'p.yaml', '--set', 'variant.rate=1,2', '--queue'], ENV)).exitCode).toBe(0);
    const start = await inkflow(ws, ['exp', 'start', '-j', '2', '--executor', 'bullmq', '--redis', redis.url, '--json'], ENV);
    expect(start.exitCode, start.all).toBe(0);
    const ends = start.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.event === 'experiment-end');
    expect(ends.map((e) => e.status)).toEqual(['ok', 'ok']);
    const records = await Promise.all(ends.map((e) => runRecord(ws, e.runId)));
    expect(records.map((r) => r.stages.variant.metrics.score).sort((a, b) => a - b)).toEqual([2, 4]);
    expect(records.every((r) => [w1.id, w2.id].includes(r.stages.variant.ranOn.worker))).toBe(true);
    expectNoSecrets(start.all);
  });

  it.skipIf(!chromiumAvailable())('shows the queue, each worker\'s running stage and where stages ran on the dashboard', async () => {
    const ws = await workspace({ 'p.yaml': `name: shown\nstages:\n  quick:\n    uses: ./stages/emit.ts\n    params: { text: q }\n  long:\n    uses: ./stages/emit.ts\n    inputs: { upstream: quick.text }\n    params: { text: l, delay_ms: 6000 }\n` });
    const worker = await started(ws);
    const ui = execa('node', [CLI, 'ui', '--port', '0'], { cwd: ws, env: { ...ENV, INKFLOW_REDIS_URL: redis.url }, reject: false, buffer: false });
    const listening = new Promise<string>((resolve, reject) => {
      let seen = '';
      ui.stdout!.on('data', (d: Buffer) => {
        seen += d.toString();
        const m = /inkflow ui: (http:\/\/\S+)/.exec(seen);
        if (m) resolve(m[1]!.replace(/\/(\?.*)?$/, ''));
      });
      void ui.then((r) => reject(new Error(`ui exited (${r.exitCode}): ${seen}`)));
    });
    const browser = await launchChromium();
    try {
      const base = await listening;
      const run = runJson(ws, ['p.yaml', '--executor', 'bullmq', '--redis', redis.url], ENV);
      await worker.waitFor(/stage long: started/);
      const page = await browser.context.newPage();
      await page.goto(`${base}/#/runs`);
      await page.getByText(/Workers: \d+ live; queue 0 waiting, 1 running/).waitFor({ timeout: 15_000 });
      await page.getByRole('link', { name: 'long (p.yaml)' }).waitFor();
      expect(await page.locator('.workers-panel').textContent()).toContain(worker.id);
      expect(await page.content()).not.toContain(PASSWORD);
      const { summary } = await run;
      expect(summary.ok).toBe(true);
      await page.goto(`${base}/#/run/${summary.runId}`);
      await page.getByText(/Where stages ran: 2 on workers via bullmq/).waitFor({ timeout: 15_000 });
      expect(await page.locator('table.workers').textContent()).toContain(worker.id);
    } finally {
      await browser.close();
      ui.kill('SIGTERM');
      await ui;
      await stopWorkers();
    }
  });

  it('trains a tiny real model on the workers (quick.yaml), with the keys this process computes for it', async () => {
    const ws = await workspace();
    await cp(join(ROOT, 'pipelines'), join(ws, 'pipelines'), { recursive: true });
    await Promise.all([started(ws), started(ws)]);
    const tiny = ['pipelines/quick.yaml', '--set', 'train.epochs=1', '--set', 'train.steps_per_epoch=3'];
    const run = await runJson(ws, [...tiny, '--executor', 'bullmq', '--redis', redis.url], ENV);
    expect(run.summary.ok, run.result.all).toBe(true);
    const record = await runRecord(ws, run.summary.runId);
    expect(record.stages.train.ranOn.host).toBeTruthy();
    expect(record.stages.train.epochs).toHaveLength(1);
    expect(record.stages.evaluate.metrics.accuracy).toBeGreaterThan(0);
    // Computed here, in-process, every key is the one the workers computed: all cached.
    const status = await inkflow(ws, ['status', ...tiny, '--json'], ENV);
    expect((JSON.parse(status.stdout) as { state: string }[]).every((s) => s.state === 'cached'), status.stdout).toBe(true);
  });

  it('refuses a stage whose key comes out differently on the worker, naming what differs', async () => {
    const runner = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'the runner\'s data\n' });
    const elsewhere = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'other data on the worker\'s machine\n' });
    await started(elsewhere);
    const run = await runJson(runner, ['p.yaml', '--executor', 'bullmq', '--redis', redis.url], ENV);
    expect(run.summary.ok).toBe(false);
    const failed = run.events.find((e) => e.event === 'stage-end' && e.stage === 'c');
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/computes key \w+ but the runner expected \w+; the data files differ/);
    // Refused once, not retried: the machines disagree and a retry cannot change that.
    expect(workers[0]!.lines.filter((l) => /stage c: started/.test(l))).toHaveLength(1);
  });

  it('runs a stage again on the other worker when its worker is killed with -9, and publishes nothing half-written', async () => {
    const ws = await workspace({
      'p.yaml': `name: slow
stages:
  a:
    uses: ./stages/emit.ts
    params: { text: a }
  slow:
    uses: ./stages/emit.ts
    inputs: { upstream: a.text }
    params: { text: slow, delay_ms: 4000 }
`,
    });
    const [w1, w2] = [await started(ws), await started(ws)];
    const run = execa('node', [CLI, 'run', 'p.yaml', '--executor', 'bullmq', '--redis', redis.url, '--json'], { cwd: ws, reject: false, env: ENV });
    const victim = await Promise.race([w1.waitFor(/stage slow: started/).then(() => w1), w2.waitFor(/stage slow: started/).then(() => w2)]);
    const survivor = victim === w1 ? w2 : w1;
    await new Promise((r) => setTimeout(r, 500));
    victim.process.kill('SIGKILL');
    const result = await run;
    const summary = result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.event === 'summary');
    expect(summary.ok, result.stderr).toBe(true);
    const record = await runRecord(ws, summary.runId);
    expect(record.stages.slow.ranOn.worker).toBe(survivor.id);
    expect(record.stages.slow.ranOn.attempts).toBe(2);
    expect(survivor.lines.some((l) => /stage slow: started \(try 2/.test(l))).toBe(true);
    // The killed try left only a staging folder; the published object is whole.
    const verify = await inkflow(ws, ['verify'], ENV);
    expect(verify.exitCode, verify.all).toBe(0);
    expect(await readFile(join(ws, 'artifacts', 'slow', 'slow', 'text'), 'utf8')).toContain('slow+');
  });

  it('Ctrl-C on the runner removes its queued jobs and aborts the running stage on its worker', async () => {
    const ws = await workspace({
      'p.yaml': `name: long
stages:
${['one', 'two', 'three'].map((s) => `  ${s}:\n    uses: ./stages/emit.ts\n    params: { text: ${s}, delay_ms: 20000 }\n`).join('')}`,
    });
    const worker = await started(ws);
    const run = execa('node', [CLI, 'run', 'p.yaml', '--executor', 'bullmq', '--redis', redis.url, '--plain'], { cwd: ws, reject: false, env: ENV, all: true });
    await worker.waitFor(/stage \w+: started/);
    const t0 = Date.now();
    run.kill('SIGINT');
    const result = await run;
    expect(result.exitCode, result.all).toBe(130);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await worker.waitFor(/cancelled by its runner; aborting the stage/, 10_000);
    await worker.waitFor(/stage \w+: failed: cancelled/, 10_000);
    const status = JSON.parse((await inkflow(ws, ['workers', '--redis', redis.url, '--json'], ENV)).stdout);
    expect(status.counts.waiting).toBe(0);
    expect(status.counts.active).toBe(0);
    // Workers killed in earlier cases linger in the registry until their entry expires; this one is idle.
    expect(status.workers.find((w: { id: string }) => w.id === worker.id).running).toEqual([]);
    // Only one stage ever started: the queued ones were removed, not run.
    expect(worker.lines.filter((l) => /: started/.test(l))).toHaveLength(1);
    expectNoSecrets(result.all + worker.lines.join('\n'));
  });

  it('carries on when Redis restarts empty mid-run: lost jobs are queued again', async () => {
    const ws = await workspace({
      // The pipeline asks for workers itself; the Redis URL comes from the environment.
      'p.yaml': `name: restart
executor: bullmq
stages:
  slow:
    uses: ./stages/emit.ts
    params: { text: slow, delay_ms: 3000 }
  after:
    uses: ./stages/emit.ts
    inputs: { upstream: slow.text }
    params: { text: after }
`,
    });
    const worker = await started(ws);
    const run = execa('node', [CLI, 'run', 'p.yaml', '--json'], { cwd: ws, reject: false, env: { ...ENV, INKFLOW_REDIS_URL: redis.url } });
    await worker.waitFor(/stage slow: started/);
    await redis.restart();
    const result = await run;
    const events = result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const summary = events.find((e) => e.event === 'summary');
    expect(summary.ok, result.stderr + result.stdout).toBe(true);
    expect(events.some((e) => e.event === 'stage-log' && /vanished from Redis .* queued again/.test(e.message))).toBe(true);
  });
});

describe('a Redis that goes away', () => {
  it('fails the run within the --redis-timeout, naming the Redis URL, instead of hanging', async () => {
    const redis = await startRedis();
    const ws = await workspace({ 'p.yaml': `name: gone\nstages:\n  slow:\n    uses: ./stages/emit.ts\n    params: { text: slow, delay_ms: 30000 }\n` });
    const worker = await startWorker(ws, redis.url);
    try {
      const run = execa('node', [CLI, 'run', 'p.yaml', '--executor', 'bullmq', '--redis', redis.url, '--redis-timeout', '3', '--plain'], { cwd: ws, reject: false, env: ENV, all: true });
      await worker.waitFor(/stage slow: started/);
      await redis.stop();
      const t0 = Date.now();
      const result = await run;
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(result.exitCode, result.all).toBe(1);
      expect(result.all).toContain(`lost the connection to Redis at ${redis.url}`);
    } finally {
      await worker.stop();
      await redis.stop();
    }
  });

  it('says so at once when Redis cannot be reached at all', async () => {
    const ws = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'x\n' });
    const redis = await startRedis();
    await redis.stop();
    const t0 = Date.now();
    const result = await inkflow(ws, ['run', 'p.yaml', '--executor', 'bullmq', '--redis', redis.url], ENV);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`cannot reach Redis at ${redis.url}`);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});

describe('workers on other machines, sharing results through the S3 remote cache', () => {
  let redis: RedisServer;
  let s3: S3Server;
  let env: Record<string, string>;
  let runner: string;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    [redis, s3] = await Promise.all([startRedis({ password: PASSWORD }), startS3()]);
    env = { ...ENV, ...s3.env, XDG_CONFIG_HOME: await mkdtemp(join(tmpdir(), 'inkflow-config-')) };
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all([redis?.stop(), s3?.stop()]);
  });

  it('runs across two workers in their own workspaces with the keys and metrics of a local run; the runner gets every result from the remote', async () => {
    const files = { 'p.yaml': DEMO_PIPELINE.replace('params: { text: c, data: data.txt }', 'params: { text: c, data: data.txt, delay_ms: 1500 }'), 'data.txt': 'shared data\n' };
    const local = await workspace(files);
    const here = await runJson(local, ['p.yaml'], ENV);
    expect(here.summary.ok).toBe(true);

    runner = await workspace(files);
    expect((await inkflow(runner, ['remote', 'keygen'], env)).exitCode).toBe(0);
    const add = await inkflow(runner, ['remote', 'add', 'team', `s3://${s3.bucket}/cache`, '--endpoint', s3.endpoint, '--path-style', '--default'], env);
    expect(add.exitCode, add.all).toBe(0);
    expect((await inkflow(runner, ['remote', 'trust', join(env.XDG_CONFIG_HOME!, 'inkflow', 'keys', 'default.key.pub')], env)).exitCode).toBe(0);
    // Each worker is a colleague's checkout: the committed config, an empty store.
    const machines = [await workspace(files), await workspace(files)];
    for (const m of machines) await cp(join(runner, '.inkflow', 'config.yaml'), join(m, '.inkflow', 'config.yaml'));
    for (const m of machines) workers.push(await startWorker(m, redis.url, [], env));
    expect(workers[0]!.lines.join('\n')).toContain('remote "team"');

    const there = await runJson(runner, ['p.yaml', '--executor', 'bullmq', '--redis', redis.url], env);
    expect(there.summary.ok, there.result.all).toBe(true);
    for (const stage of ['a', 'b', 'c', 'd']) expect(there.summary.stages[stage]!.key).toBe(here.summary.stages[stage]!.key);
    const record = await runRecord(runner, there.summary.runId);
    const localRecord = await runRecord(local, here.summary.runId);
    for (const stage of ['a', 'b', 'c', 'd']) expect(record.stages[stage].metrics).toEqual(localRecord.stages[stage].metrics);
    expect(new Set(Object.values(record.stages as Record<string, { ranOn: { worker: string } }>).map((s) => s.ranOn.worker))).toEqual(new Set(workers.map((w) => w.id)));
    expect(record.executor.remote).toContain('remote "team"');
    // The runner's store holds every result, fetched from the remote and verified.
    expect(await readFile(join(runner, 'artifacts', 'demo', 'd', 'text'), 'utf8')).toBe(await readFile(join(local, 'artifacts', 'demo', 'd', 'text'), 'utf8'));
    expect((await inkflow(runner, ['verify'], env)).exitCode).toBe(0);

    const everything = there.result.all + (await allText(join(runner, 'logs'))) + (await allText(join(runner, '.inkflow'))) +
      workers.map((w) => w.lines.join('\n')).join('\n') + (await Promise.all(machines.map((m) => allText(join(m, 'logs'))))).join('');
    expectNoSecrets(everything);
    expect(everything).not.toContain(s3.secretAccessKey);
  });

  it('says clearly when S3 cannot be reached, and the local cache still works', async () => {
    await s3.stop();
    const t0 = Date.now();
    const forced = await runJson(runner, ['p.yaml', '--executor', 'bullmq', '--redis', redis.url, '--force', '--attempts', '1'], env);
    expect(forced.summary.ok).toBe(false);
    const failed = forced.events.filter((e) => e.event === 'stage-end' && e.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0].error).toContain(`cannot reach ${s3.endpoint}`);
    expect(failed[0].error).toMatch(/^on \S+ \(worker \S+\): remote "team"/);
    expect(Date.now() - t0).toBeLessThan(60_000);
    // Everything this workspace holds is still a cache hit, S3 or not.
    const cached = await runJson(runner, ['p.yaml', '--executor', 'bullmq', '--redis', redis.url], env);
    expect(cached.summary.ok, cached.result.all).toBe(true);
    expect(cached.statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
    expect(cached.result.all + forced.result.all).not.toContain(s3.secretAccessKey);
  });
});
