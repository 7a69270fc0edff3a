import { describe, expect, it } from 'vitest';
import { appendFile, cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, DATA_DIR, inkflow, runJson, workspace, DEMO_PIPELINE as PIPELINE } from './helpers.js';


async function demo() {
  return workspace({ 'p.yaml': PIPELINE, 'data.txt': 'v1\n' });
}

describe('caching and invalidation', () => {
  it('runs everything once, then everything is a cache hit with the same keys', async () => {
    const ws = await demo();
    const first = await runJson(ws, ['p.yaml']);
    expect(first.result.exitCode).toBe(0);
    expect(first.statuses).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    expect(await readFile(join(ws, 'artifacts/demo/d/text'), 'utf8')).toBe('d+b+hello!!+c@v1!!');
    const second = await runJson(ws, ['p.yaml']);
    expect(second.statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
    for (const s of ['a', 'b', 'c', 'd']) expect(second.summary.stages[s].key).toBe(first.summary.stages[s].key);
    expect(first.summary.stages.a.key).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a changed param reruns that stage and only what depends on it', async () => {
    const ws = await demo();
    await runJson(ws, ['p.yaml']);
    const { statuses } = await runJson(ws, ['p.yaml', '--set', 'params.greeting=hi']);
    expect(statuses).toEqual({ a: 'ran', b: 'ran', c: 'cached', d: 'ran' });
    const again = await runJson(ws, ['p.yaml', '--set', 'c.text=c2']);
    expect(again.statuses).toEqual({ a: 'cached', b: 'cached', c: 'ran', d: 'ran' });
  });

  it('changed data files, stage code and imported helper code each invalidate', async () => {
    const ws = await demo();
    await runJson(ws, ['p.yaml']);
    await writeFile(join(ws, 'data.txt'), 'v2\n');
    expect((await runJson(ws, ['p.yaml'])).statuses).toEqual({ a: 'cached', b: 'cached', c: 'ran', d: 'ran' });
    const status = await inkflow(ws, ['status', 'p.yaml']);
    expect(status.stdout).toContain('everything is cached');
    await appendFile(join(ws, 'stages/helper.ts'), '\n// a comment changes the code hash\n');
    const status2 = await inkflow(ws, ['status', 'p.yaml']);
    expect(status2.stdout).toMatch(/a\s+stale[\s\S]*stage code changed \(the module or a local file it imports\)/);
    expect((await runJson(ws, ['p.yaml'])).statuses).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    // A file the helper loads with new URL(..., import.meta.url) counts as code too.
    await writeFile(join(ws, 'stages/suffix.txt'), '?');
    const status3 = await inkflow(ws, ['status', 'p.yaml']);
    expect(status3.stdout).toMatch(/a\s+stale[\s\S]*stage code changed \(the module or a local file it imports\)/);
    expect((await runJson(ws, ['p.yaml'])).statuses).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    expect(await readFile(join(ws, 'artifacts/demo/d/text'), 'utf8')).toBe('d+b+hello??+c@v2??');
  });

  it('a project copied to another folder keeps its cache: code is hashed by paths relative to the stage, not absolute ones', async () => {
    // The stage module imports code outside its own folder, as every built-in stage does (dist/stages -> dist/src).
    const ws = await workspace({
      'p.yaml': 'name: moved\nstages:\n  a:\n    uses: ./pipeline-stages/relay.ts\n    params: { text: moved }\n',
      'pipeline-stages/relay.ts': "export { default } from '../stages/emit.ts';\n",
    });
    const first = await runJson(ws, ['p.yaml']);
    expect(first.statuses).toEqual({ a: 'ran' });
    const moved = `${ws}-moved`;
    await cp(ws, moved, { recursive: true, verbatimSymlinks: true });
    const status = await inkflow(moved, ['status', 'p.yaml']);
    expect(status.stdout).toContain('everything is cached');
    const again = await runJson(moved, ['p.yaml']);
    expect(again.statuses).toEqual({ a: 'cached' });
    expect(again.summary.stages.a.key).toBe(first.summary.stages.a.key);
    // Code outside the stage's folder still counts: editing it invalidates.
    await appendFile(join(moved, 'stages/helper.ts'), '\n// changed\n');
    expect((await inkflow(moved, ['status', 'p.yaml'])).stdout).toMatch(/a\s+stale[\s\S]*stage code changed/);
  });

  it('status explains a changed param', async () => {
    const ws = await demo();
    await runJson(ws, ['p.yaml']);
    const r = await inkflow(ws, ['status', 'p.yaml', '--set', 'b.text=bee']);
    expect(r.stdout).toMatch(/b\s+stale\s+[0-9a-f]{12}\n\s+- param text: "b" -> "bee"/);
    expect(r.stdout).toMatch(/d\s+blocked\n\s+- upstream "b" will rerun/);
  });

  it('--only, --from, --force and --dry-run select what runs', async () => {
    const ws = await demo();
    const none = await inkflow(ws, ['run', 'p.yaml', '--only', 'd', '--json']);
    expect(none.exitCode).toBe(1);
    expect(none.stdout).toContain('--only d needs the result of');
    expect(none.stdout).toContain('which is not cached');
    await runJson(ws, ['p.yaml']);
    expect((await runJson(ws, ['p.yaml', '--only', 'b'])).statuses).toEqual({ a: 'cached', b: 'ran' });
    expect((await runJson(ws, ['p.yaml', '--from', 'b'])).statuses).toEqual({ a: 'cached', b: 'ran', c: 'cached', d: 'ran' });
    expect((await runJson(ws, ['p.yaml', '--force'])).statuses).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    const dry = await inkflow(ws, ['run', 'p.yaml', '--dry-run', '--set', 'c.text=x']);
    expect(dry.exitCode).toBe(0);
    // The same explanation `inkflow status` gives, against the last recorded run.
    expect(dry.stderr).toMatch(/c: skipped \(would run: param text: "c" -> "x"\)/);
    expect(dry.stderr).toMatch(/d: skipped \(would run after "c"\)/);
    // One record per real run, the refused --only included; dry runs leave none.
    expect(await readdir(join(ws, 'logs/runs'))).toHaveLength(5);
  });

  it('independent stages run in parallel', async () => {
    const ws = await workspace({
      'p.yaml': `name: par
stages:
  x: { uses: ./stages/emit.ts, params: { text: x, delay_ms: 1500 } }
  y: { uses: ./stages/emit.ts, params: { text: y, delay_ms: 1500 } }
`,
    });
    const { summary } = await runJson(ws, ['p.yaml', '--concurrency', '2']);
    expect(summary.ok).toBe(true);
    const spans = (await readFile(join(ws, 'timeline.log'), 'utf8')).trim().split('\n').map((l) => l.split(' ').slice(1).map(Number));
    const [[s1, e1], [s2, e2]] = spans;
    expect(Math.max(s1, s2)).toBeLessThan(Math.min(e1, e2));
  });

  it('a failing stage stops its dependants, independent branches finish, exit is non-zero', async () => {
    const ws = await demo();
    const { result, statuses, events } = await runJson(ws, ['p.yaml', '--set', 'b.fail=true']);
    expect(result.exitCode).toBe(1);
    expect(statuses).toEqual({ a: 'ran', b: 'failed', c: 'ran', d: 'skipped' });
    expect(events.find((e) => e.stage === 'b' && e.status === 'failed').error).toContain('this stage was told to fail');
    const plain = await inkflow(ws, ['run', 'p.yaml', '--set', 'b.fail=true']);
    expect(plain.stderr).toContain('b: FAILED');
    expect(plain.stderr).toContain('d: skipped (not run: upstream "b" did not complete)');
  });
});

describe('robustness', () => {
  it('a killed run leaves no half-written artifact, and the rerun succeeds', async () => {
    const ws = await workspace({ 'p.yaml': 'name: kill\nstages:\n  a: { uses: ./stages/emit.ts, params: { text: a, partial_then_hang: true } }\n' });
    const child = execa('node', [CLI, 'run', 'p.yaml', '--json'], { cwd: ws, reject: false });
    await waitFor(async () => (await readdir(join(ws, 'artifacts/tmp')).catch(() => [])).length > 0);
    child.kill('SIGKILL');
    await child;
    expect(await readdir(join(ws, 'artifacts/objects')).catch(() => [])).toEqual([]);
    const verify = await inkflow(ws, ['verify']);
    expect(verify.exitCode).toBe(0);
    await writeFile(join(ws, 'p.yaml'), 'name: kill\nstages:\n  a: { uses: ./stages/emit.ts, params: { text: a } }\n');
    expect((await runJson(ws, ['p.yaml'])).statuses).toEqual({ a: 'ran' });
    expect((await inkflow(ws, ['gc', '--keep', '1'])).exitCode).toBe(0);
  });

  it('a stage awaiting a promise nothing can settle fails the run instead of exiting 0 half-way', async () => {
    const ws = await workspace({ 'p.yaml': 'name: strand\nstages:\n  a: { uses: ./stages/emit.ts, params: { text: a, stranded: true } }\n  b: { uses: ./stages/emit.ts, inputs: { upstream: a.text } }\n' });
    const run = await runJson(ws, ['p.yaml']);
    expect(run.result.exitCode).toBe(1);
    expect(run.statuses).toMatchObject({ a: 'failed', b: 'skipped' });
    expect(run.events.find((e) => e.event === 'stage-end' && e.stage === 'a').error).toContain('stage "a" (./stages/emit.ts) stopped without finishing: its run() awaits a promise that nothing left running can settle');
    expect(await readdir(join(ws, 'artifacts/tmp'))).toEqual([]);
    const [runId] = await readdir(join(ws, 'logs/runs'));
    expect(JSON.parse(await readFile(join(ws, 'logs/runs', runId, 'run.json'), 'utf8')).ok).toBe(false);
  });

  it('SIGINT cancels running stages, exits 130 and records the run as cancelled', async () => {
    const ws = await workspace({ 'p.yaml': 'name: cancel\nstages:\n  slow: { uses: ./stages/emit.ts, params: { text: s, delay_ms: 60000 } }\n  after: { uses: ./stages/emit.ts, inputs: { upstream: slow.text } }\n' });
    const child = execa('node', [CLI, 'run', 'p.yaml', '--json'], { cwd: ws, reject: false });
    await waitFor(async () => (await readdir(join(ws, 'artifacts/tmp')).catch(() => [])).length > 0);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ event: 'summary', ok: false, cancelled: true });
    expect(await readdir(join(ws, 'artifacts/tmp'))).toEqual([]);
    const [runId] = await readdir(join(ws, 'logs/runs'));
    const record = JSON.parse(await readFile(join(ws, 'logs/runs', runId, 'run.json'), 'utf8'));
    expect(record.cancelled).toBe(true);
  });

  it('two concurrent runs on one workspace both succeed and agree', async () => {
    const ws = await demo();
    const [r1, r2] = await Promise.all([runJson(ws, ['p.yaml']), runJson(ws, ['p.yaml'])]);
    expect(r1.summary.ok && r2.summary.ok).toBe(true);
    expect(r1.summary.stages.d.key).toBe(r2.summary.stages.d.key);
    expect((await inkflow(ws, ['verify'])).stdout).toContain('4 artifacts verified, no corruption');
  });

  it('verify detects a corrupted artifact', async () => {
    const ws = await demo();
    await runJson(ws, ['p.yaml']);
    await writeFile(join(ws, 'artifacts/demo/b/text'), 'tampered');
    const r = await inkflow(ws, ['verify']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/demo\/b: text\/\. is corrupt/);
  });
});

describe('records and tools', () => {
  it('writes a run record and diffs runs', async () => {
    const ws = await demo();
    await runJson(ws, ['p.yaml']);
    await runJson(ws, ['p.yaml', '--set', 'a.text=hey']);
    const [first] = await readdir(join(ws, 'logs/runs'));
    const record = JSON.parse(await readFile(join(ws, 'logs/runs', first, 'run.json'), 'utf8'));
    expect(record.environment.node).toBe(process.version);
    expect(record.stages.a).toMatchObject({ status: 'ran', metrics: { length: 5 } });
    expect(typeof record.stages.a.peakRssBytes).toBe('number');
    const list = await inkflow(ws, ['runs']);
    expect(list.stdout).toMatch(/RUN\s+PIPELINE\s+RESULT/);
    const diff = await inkflow(ws, ['runs', 'diff', 'latest~1', 'latest']);
    expect(diff.stdout).toMatch(/a\.text\s+"hello"\s+"hey"/);
    expect(diff.stdout).toMatch(/a\.length\s+5\s+3\s+-2/);
  });

  it('gc --keep 0 keeps no run and no artifact; --keep 1 keeps the last run', async () => {
    const ws = await demo();
    await runJson(ws, ['p.yaml']);
    await runJson(ws, ['p.yaml', '--set', 'a.text=hey']);
    const keepOne = await inkflow(ws, ['gc', '--keep', '1']);
    expect(keepOne.stdout).toContain('removed 3 artifact(s)');
    expect(await readdir(join(ws, 'logs/runs'))).toHaveLength(1);
    const keepNone = await inkflow(ws, ['gc', '--keep', '0']);
    expect(keepNone.exitCode).toBe(0);
    expect(keepNone.stdout).toContain('removed 4 artifact(s)');
    expect(await readdir(join(ws, 'logs/runs'))).toEqual([]);
    expect((await inkflow(ws, ['verify'])).stdout).toContain('0 artifacts verified');
  });

  it('rejects numbers that are not numbers, or out of range, as usage errors', async () => {
    const ws = await demo();
    for (const [args, message] of [
      [['gc', '--keep', 'abc'], 'gc: --keep must be a whole number 0 or more, got "abc"'],
      [['gc', '--keep=-1'], 'gc: --keep must be a whole number 0 or more, got "-1"'],
      [['run', 'p.yaml', '--concurrency', 'abc'], 'run: --concurrency must be a whole number 1 or more, got "abc"'],
      [['run', 'p.yaml', '--concurrency', '0'], 'run: --concurrency must be a whole number 1 or more, got "0"'],
      [['schedule', 'p.yaml', '--cron', '* * * * *', '--max-runs', '1.5'], 'schedule: --max-runs must be a whole number 1 or more, got "1.5"'],
    ] as const) {
      const r = await inkflow(ws, [...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
    expect(await readdir(join(ws, 'logs')).catch(() => [])).toEqual([]);
  });

  it('prints the DAG as text, mermaid and dot', async () => {
    const ws = await demo();
    expect((await inkflow(ws, ['dag', 'p.yaml'])).stdout).toContain('d (./stages/emit.ts)  ← b, c');
    expect((await inkflow(ws, ['dag', 'p.yaml', '--format', 'mermaid'])).stdout).toContain('b -->|text→upstream| d');
    expect((await inkflow(ws, ['dag', 'p.yaml', '--format', 'dot'])).stdout).toContain('"c" -> "d" [label="text→other"];');
  });

  it('shell stage: argv command, hashed deps, captured outputs, failures named', async () => {
    const ws = await workspace({
      'input.txt': 'abc\n',
      'p.yaml': `name: sh
stages:
  upper:
    uses: shell
    params:
      command: [sh, -c, 'tr a-z A-Z < input.txt > "$0"; echo converted', '{{out.result}}']
      deps: [input.txt]
      outputs: [result]
  count:
    uses: shell
    inputs: { text: upper.result }
    params:
      command: [wc, -c, '{{in.text}}']
`,
    });
    const first = await runJson(ws, ['p.yaml']);
    expect(first.statuses).toEqual({ upper: 'ran', count: 'ran' });
    expect(await readFile(join(ws, 'artifacts/sh/upper/result'), 'utf8')).toBe('ABC\n');
    const [runId] = await readdir(join(ws, 'logs/runs'));
    expect(await readFile(join(ws, 'logs/runs', runId, 'upper', 'command.log'), 'utf8')).toContain('converted');
    expect((await runJson(ws, ['p.yaml'])).statuses).toEqual({ upper: 'cached', count: 'cached' });
    await writeFile(join(ws, 'input.txt'), 'xyz\n');
    expect((await runJson(ws, ['p.yaml'])).statuses).toEqual({ upper: 'ran', count: 'ran' });
    const failing = await runJson(ws, ['p.yaml', '--set', 'count.command=[sh, -c, "exit 3"]']);
    expect(failing.events.find((e) => e.stage === 'count' && e.status === 'failed').error).toContain('exited with code 3');
  });

  it('a schedule tick with unchanged data is all cache hits', async () => {
    const ws = await demo();
    const r = await execa('node', [CLI, 'schedule', 'p.yaml', '--cron', '* * * * * *', '--max-runs', '2', '--json'], { cwd: ws, reject: false, env: { INKFLOW_DATA_DIR: DATA_DIR } });
    expect(r.exitCode).toBe(0);
    const summaries = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.event === 'summary');
    expect(summaries).toHaveLength(2);
    expect(Object.values(summaries[0].stages).map((s: any) => s.status)).toEqual(['ran', 'ran', 'ran', 'ran']);
    expect(Object.values(summaries[1].stages).map((s: any) => s.status)).toEqual(['cached', 'cached', 'cached', 'cached']);
    const runs = await readdir(join(ws, 'logs/runs'));
    const record = JSON.parse(await readFile(join(ws, 'logs/runs', runs[1], 'run.json'), 'utf8'));
    expect(record.trigger).toBe('schedule * * * * * *');
  });

  it('rejects a bad cron expression clearly', async () => {
    const ws = await demo();
    const r = await inkflow(ws, ['schedule', 'p.yaml', '--cron', 'every day']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('schedule: invalid --cron "every day"');
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

