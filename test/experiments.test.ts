/**
 * Experiments with real `inkflow` processes on small fixture pipelines: parallel
 * variants under a mutex, median stopping, the on-disk queue across a killed
 * worker, the runs table's --where, and promotion gates.
 */
import { describe, expect, it } from 'vitest';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, DATA_DIR, inkflow, workspace } from './helpers.js';

const PIPELINE = `name: toy
params: { v: x }
stages:
  prep:
    uses: ./stages/emit.ts
    params: { text: prep, delay_ms: 200 }
  tag:
    uses: ./stages/emit.ts
    description: light and different in every variant; may overlap
    params: { text: "tag-\${params.v}", delay_ms: 1500 }
  fit:
    uses: ./stages/curve.ts
    mutex: trainer
    inputs: { upstream: prep.text }
    params: { rate: 1, epochs: 3, epoch_ms: 300, label: "fit-\${params.v}" }
`;

interface RunJson {
  runId: string;
  ok: boolean;
  cancelled: boolean;
  stopReason?: string;
  experiment?: { sweep: string; name: string; overrides: Record<string, unknown> };
  stages: Record<string, { status: string; key?: string; metrics?: Record<string, number>; epochs?: { epoch: number; score: number }[] }>;
}

async function records(ws: string): Promise<RunJson[]> {
  const dir = join(ws, 'logs', 'runs');
  const out: RunJson[] = [];
  for (const id of (await readdir(dir)).sort()) out.push(JSON.parse(await readFile(join(dir, id, 'run.json'), 'utf8')));
  return out;
}

async function intervals(ws: string): Promise<Map<string, [number, number]>> {
  const lines = (await readFile(join(ws, 'timeline.log'), 'utf8')).trim().split('\n');
  return new Map(lines.map((l) => l.split(' ')).map(([name, a, b]) => [name, [Number(a), Number(b)]]));
}

const overlap = (a: [number, number], b: [number, number]) => a[0] < b[1] && b[0] < a[1];

describe('exp run', () => {
  it('runs variants side by side: the shared stage runs once, a mutex keeps trainings apart while light stages overlap', async () => {
    const ws = await workspace({ 'p.yaml': PIPELINE });
    const result = await inkflow(ws, ['exp', 'run', 'p.yaml', '--set', 'params.v=a,b', '--set', 'fit.epochs=2', '--jobs', '2']);
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toMatch(/best: \S+ \(v=[ab]\) fit\.score = 2/);
    const runs = await records(ws);
    expect(runs).toHaveLength(2);
    expect(runs.map((r) => r.experiment?.name).sort()).toEqual(['v=a', 'v=b']);
    expect(new Set(runs.map((r) => r.experiment?.sweep)).size).toBe(1);
    expect(runs.map((r) => r.stages.prep.status).sort()).toEqual(['cached', 'ran']);
    const times = await intervals(ws);
    expect(overlap(times.get('fit-a')!, times.get('fit-b')!)).toBe(false);
    expect(overlap(times.get('tag-a')!, times.get('tag-b')!)).toBe(true);
    expect(runs.every((r) => r.stages.fit.epochs?.map((e) => e.epoch).join() === '1,2')).toBe(true);
    const sweep = runs[0].experiment!.sweep;
    expect((await stat(join(ws, 'logs', 'sweeps', sweep, 'summary.png'))).size).toBeGreaterThan(5000);
  });

  it('stops a deliberately bad variant early with the median rule; errors in a sweep file name file:line:col', async () => {
    const ws = await workspace({
      'p.yaml': PIPELINE,
      'sweeps/rate.yaml': `pipeline: ../p.yaml
method: grid
parameters:
  fit.rate: [2, 1.8, 0.1]
set: { fit.epochs: 5, fit.epoch_ms: 50 }
metric: fit.score
jobs: 1
early_terminate: { type: median, metric: fit.score, min_epochs: 2, min_runs: 2 }
`,
      'sweeps/bad.yaml': `method: grid\nparameters:\n  fit.rate: { uniform: [0, 1] }\nearly_terminate: { type: median, metrc: score }\n`,
    });
    const result = await inkflow(ws, ['exp', 'run', 'sweeps/rate.yaml']);
    expect(result.exitCode, result.all).toBe(0);
    const runs = await records(ws);
    const byRate = new Map(runs.map((r) => [r.experiment!.overrides['fit.rate'], r]));
    for (const rate of [2, 1.8]) expect(byRate.get(rate)).toMatchObject({ ok: true, stages: { fit: { status: 'ran' } } });
    const bad = byRate.get(0.1)!;
    expect(bad.ok).toBe(false);
    expect(bad.stopReason).toMatch(/median stopping rule: best fit\.score 0\.2 by epoch 2 is worse than the median 3\.8 of 2 earlier run/);
    expect(bad.stages.fit.epochs!.length).toBe(2);
    expect(bad.stages.fit.key).toBeUndefined();
    expect(result.stdout).toMatch(/stopped/);

    const invalid = await inkflow(ws, ['exp', 'run', 'p.yaml', '--sweep', 'sweeps/bad.yaml']);
    expect(invalid.exitCode).toBe(1);
    expect(invalid.stderr).toMatch(/sweeps\/bad\.yaml:3:13: parameters\.fit\.rate: a grid needs a `count`|sweeps\/bad\.yaml:4:\d+: unknown key "metrc"/);
    expect(invalid.stderr).toMatch(/unknown key "metrc" in early_terminate \(did you mean "metric"\?\)/);

    // The runs table over these records: filters with --where (exponents too), sorts, and reports a misspelt name.
    const where = await inkflow(ws, ['runs', '--where', 'fit.rate < 1.9 and score > 5', '--json']);
    expect(where.exitCode, where.all).toBe(0);
    const rows = JSON.parse(where.stdout) as Record<string, unknown>[];
    expect(rows.map((r) => r.experiment)).toEqual(['rate=1.8']);
    const tiny = JSON.parse((await inkflow(ws, ['runs', '--where', 'fit.rate <= 1e-1 or result == "ok" and fit.score >= 1e1', '--json'])).stdout) as Record<string, unknown>[];
    expect(tiny.map((r) => r.result).sort()).toEqual(['ok', 'stopped']);
    const sorted = await inkflow(ws, ['runs', '--sort', 'score:desc', '--csv']);
    expect(sorted.stdout.split('\n')[0]).toMatch(/^run,pipeline,result,experiment,seconds,fit\.rate,fit\.score,prep\.length/);
    expect(sorted.stdout.split('\n').slice(1).map((l) => l.split(',')[5])).toEqual(['2', '1.8', '0.1']);
    const md = await inkflow(ws, ['runs', '--md', '--only-changed']);
    expect(md.stdout).toMatch(/^\| run \| pipeline \| result \| experiment \| seconds \| fit\.rate \| fit\.score \|$/m);
    const typo = await inkflow(ws, ['runs', '--where', 'scor > 1']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/no param or metric "scor".*did you mean "(fit\.)?score"/);
    const diff = await inkflow(ws, ['runs', 'diff', 'latest~2', 'latest~1', 'latest']);
    expect(diff.stdout).toMatch(/fit\.rate\s+2\s+1\.8\s+0\.1/);
  });
});

describe('stage locks', () => {
  it('a result another process is computing is waited for, not computed twice; a dead holder\'s lock is taken over', async () => {
    const ws = await workspace({
      'p.yaml': `name: twice\nstages:\n  slow:\n    uses: ./stages/emit.ts\n    params: { text: slow, delay_ms: 1500 }\n`,
    });
    const [a, b] = await Promise.all([inkflow(ws, ['run', 'p.yaml', '--json']), inkflow(ws, ['run', 'p.yaml', '--json'])]);
    const status = (r: typeof a) => JSON.parse(r.stdout.trim().split('\n').pop()!).stages.slow.status;
    expect([status(a), status(b)].sort()).toEqual(['cached', 'ran']);
    expect((await readFile(join(ws, 'timeline.log'), 'utf8')).trim().split('\n')).toHaveLength(1);

    const { acquireLock } = await import('../dist/src/engine/locks.js');
    const file = join(ws, 'held');
    const holder = execa('node', ['--input-type=module', '-e', `const { acquireLock } = await import(${JSON.stringify(join(CLI, '..', '..', 'dist', 'src', 'engine', 'locks.js'))}); await acquireLock(${JSON.stringify(file)}); console.log('held'); setInterval(() => {}, 1000);`], { reject: false });
    await new Promise<void>((resolve) => holder.stdout!.on('data', () => resolve()));
    let waited = false;
    const waiting = acquireLock(file, { onWait: () => { waited = true; } });
    await new Promise((r) => setTimeout(r, 500));
    expect(waited).toBe(true);
    holder.kill('SIGKILL');
    await holder;
    const release = await waiting;
    await release();
  });
});

describe('exp queue', () => {
  it('survives a killed worker: its experiment is queued again and a new worker finishes everything', async () => {
    const ws = await workspace({ 'p.yaml': PIPELINE });
    const queued = await inkflow(ws, ['exp', 'run', 'p.yaml', '--set', 'params.v=a,b,c', '--set', 'fit.epoch_ms=700', '--queue']);
    expect(queued.exitCode, queued.all).toBe(0);
    const extra = await inkflow(ws, ['exp', 'run', 'p.yaml', '--set', 'params.v=d,e', '--queue']);
    const ls = async () => JSON.parse((await inkflow(ws, ['exp', 'ls', '--json'])).stdout) as { id: string; status: string; attempts: number; variant: { name: string }; worker?: { pid: number } }[];
    const doomed = (await ls()).filter((i) => i.variant.name === 'v=d' || i.variant.name === 'v=e');
    expect(extra.exitCode).toBe(0);
    const cancel = await inkflow(ws, ['exp', 'cancel', ...doomed.map((i) => i.id)]);
    expect(cancel.stdout).toMatch(/cancelled/);

    const startWorker = () => execa('node', [CLI, 'exp', 'start', '-j', '1'], { cwd: ws, reject: false, env: { INKFLOW_DATA_DIR: DATA_DIR, CI: '1' } });
    /** Resolves once `count` runs have reached their fit stage. */
    const fitStarted = async (count: number) => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const ids = await readdir(join(ws, 'logs', 'runs')).catch(() => [] as string[]);
        const fitting = await Promise.all(ids.map((id) => readdir(join(ws, 'logs', 'runs', id)).then((e) => e.includes('fit'), () => false)));
        if (fitting.filter(Boolean).length >= count) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('no run reached its fit stage');
    };
    // Kill the worker while the first experiment's fit stage is part way through.
    const worker = startWorker();
    await fitStarted(1);
    worker.kill('SIGKILL');
    await worker;
    const afterKill = await ls();
    expect(afterKill.filter((i) => i.status === 'running')).toHaveLength(1);
    expect(afterKill.filter((i) => i.status === 'queued')).toHaveLength(2);

    // Ctrl-C: the experiment it was running goes back to the queue, nothing is lost or half-written.
    const interrupted = startWorker();
    await fitStarted(2);
    interrupted.kill('SIGINT');
    expect((await interrupted).exitCode).toBe(130);
    const afterInterrupt = await ls();
    expect(afterInterrupt.filter((i) => i.status === 'running')).toHaveLength(0);
    expect(afterInterrupt.filter((i) => i.status === 'queued')).toHaveLength(3);
    expect(await readdir(join(ws, 'artifacts', 'tmp'))).toEqual([]);

    const second = await inkflow(ws, ['exp', 'start', '-j', '2']);
    expect(second.exitCode, second.all).toBe(0);
    const done = await ls();
    expect(done.map((i) => `${i.variant.name}:${i.status}`).sort()).toEqual(['v=a:ok', 'v=b:ok', 'v=c:ok', 'v=d:cancelled', 'v=e:cancelled']);
    expect(done.find((i) => i.variant.name === 'v=a')!.attempts).toBe(3);
    // The killed run left nothing half-written behind in the store.
    await new Promise((r) => setTimeout(r, 500));
    expect(await readdir(join(ws, 'artifacts', 'tmp'))).toEqual([]);
    const all = await records(ws);
    expect(all.filter((r) => r.cancelled).length).toBeGreaterThanOrEqual(2);
    const ok = all.filter((r) => r.ok);
    expect(ok.map((r) => r.experiment!.name).sort()).toEqual(['v=a', 'v=b', 'v=c']);
  });
});

describe('promotion', () => {
  it('exp promote copies a run to models/<name>/vN; a gate refuses a worse model; the promote stage gates inside a pipeline', async () => {
    const ws = await workspace({
      'p.yaml': PIPELINE,
      'gated.yaml': `name: gated
stages:
  fit:
    uses: ./stages/curve.ts
    params: { rate: 2, epochs: 1 }
  promote:
    uses: promote
    inputs: { model: fit.model, report: fit.report }
    params: { name: champion, metric: score, margin: 0.5 }
`,
    });
    expect((await inkflow(ws, ['exp', 'run', 'p.yaml', '--set', 'fit.rate=2,1.8', '--set', 'fit.epoch_ms=0'])).exitCode).toBe(0);
    const [first, second] = await records(ws);
    const better = first.experiment!.overrides['fit.rate'] === 2 ? first : second;
    const worse = better === first ? second : first;

    const promoted = await inkflow(ws, ['exp', 'promote', better.runId, '--as', 'toy', '--gate', 'score']);
    expect(promoted.exitCode, promoted.all).toBe(0);
    expect(promoted.stdout).toMatch(/promoted to toy\/v1/);
    const v1 = join(ws, 'models', 'toy', 'v1');
    expect(await readFile(join(v1, 'model', 'weights.txt'), 'utf8')).toBe('rate 2\n');
    expect(JSON.parse(await readFile(join(v1, 'metrics.json'), 'utf8'))).toMatchObject({ 'fit.score': 6 });
    expect(JSON.parse(await readFile(join(v1, 'run.json'), 'utf8')).runId).toBe(better.runId);

    const refused = await inkflow(ws, ['exp', 'promote', worse.runId, '--as', 'toy', '--gate', 'fit.score']);
    expect(refused.exitCode).toBe(3);
    expect(refused.stdout).toMatch(/not promoted: fit\.score 5\.4 does not beat the current toy\/v1 \(6\) by more than 0/);
    expect(await readlink(join(ws, 'models', 'toy', 'current'))).toBe('v1');
    const forced = await inkflow(ws, ['exp', 'promote', worse.runId, '--as', 'toy']);
    expect(forced.stdout).toMatch(/promoted to toy\/v2 \(was v1\)/);
    expect(await readlink(join(ws, 'models', 'toy', 'current'))).toBe('v2');

    const decision = async () => JSON.parse(await readFile(join(ws, 'artifacts', 'gated', 'promote', 'decision'), 'utf8'));
    expect((await inkflow(ws, ['run', 'gated.yaml'])).exitCode).toBe(0);
    expect(await decision()).toMatchObject({ promoted: true, version: 'v1' });
    expect((await inkflow(ws, ['run', 'gated.yaml', '--set', 'fit.rate=2.3'])).exitCode).toBe(0);
    expect(await decision()).toMatchObject({ promoted: false, champion: { version: 'v1', value: 2 } });
    expect((await inkflow(ws, ['run', 'gated.yaml', '--set', 'fit.rate=3'])).exitCode).toBe(0);
    expect(await decision()).toMatchObject({ promoted: true, version: 'v2' });
    expect(await readlink(join(ws, 'models', 'champion', 'current'))).toBe('v2');
    expect(await readFile(join(ws, 'models', 'champion', 'current', 'model', 'weights.txt'), 'utf8')).toBe('rate 3\n');
  });
});
