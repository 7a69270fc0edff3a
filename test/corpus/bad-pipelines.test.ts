import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, writeFile, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inkflow, runJson, workspace } from '../helpers.js';

const chain = (n: number, uses = './stages/emit.ts') => {
  const lines = ['name: deep', 'stages:'];
  for (let i = 0; i < n; i++) {
    lines.push(`  s${i}:`, `    uses: ${uses}`, `    params: { text: "${i % 10}" }`);
    if (i) lines.push(`    inputs: { upstream: s${i - 1}.text }`);
  }
  return lines.join('\n') + '\n';
};

describe('bad pipelines: a named error, nothing run, a clean store', () => {
  it('an include cycle is an error naming the chain', async () => {
    const ws = await workspace({
      'a.yaml': 'name: a\ninclude: [b.yaml]\nstages:\n  x: { uses: ./stages/emit.ts }\n',
      'b.yaml': 'name: b\ninclude: [c.yaml]\nstages:\n  y: { uses: ./stages/emit.ts }\n',
      'c.yaml': 'name: c\ninclude: [a.yaml]\nstages:\n  z: { uses: ./stages/emit.ts }\n',
    });
    const r = await inkflow(ws, ['validate', 'a.yaml']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/c\.yaml:2:\d+: include cycle: a\.yaml -> b\.yaml -> c\.yaml -> a\.yaml/);
    expect((await inkflow(ws, ['run', 'a.yaml'])).exitCode).toBe(1);
    expect(await readdir(join(ws, 'artifacts')).catch(() => [])).toEqual([]);
  });

  it('nested includes contribute their stages and params; a file included twice is read once', async () => {
    const ws = await workspace({
      'base.yaml': 'name: base\nparams: { word: deep }\nstages:\n  root: { uses: ./stages/emit.ts, params: { text: "${params.word}" } }\n',
      'mid.yaml': 'name: mid\ninclude: [base.yaml]\nstages:\n  middle: { uses: ./stages/emit.ts, inputs: { upstream: root.text } }\n',
      // side differs from middle: two identical stages share one computation (the second is a cache hit).
      'side.yaml': 'name: side\ninclude: [base.yaml]\nstages:\n  side: { uses: ./stages/emit.ts, inputs: { upstream: root.text }, params: { text: side } }\n',
      'top.yaml': 'name: top\ninclude: [mid.yaml, side.yaml]\nstages:\n  top: { uses: ./stages/emit.ts, inputs: { upstream: middle.text, other: side.text } }\n',
    });
    const r = await runJson(ws, ['top.yaml']);
    expect(r.result.exitCode).toBe(0);
    expect(r.statuses).toEqual({ root: 'ran', middle: 'ran', side: 'ran', top: 'ran' });
    expect(await readFile(join(ws, 'artifacts/top/top/text'), 'utf8')).toContain('deep');
    expect((await inkflow(ws, ['verify'])).exitCode).toBe(0);
  });

  it('uses: outside the workspace is refused before its code runs, unless its folder is allowed', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'inkflow-elsewhere-'));
    const marker = join(outside, 'ran-at-import');
    await writeFile(join(outside, 'stage.ts'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'x');\nexport default { description: 'x', version: 1, paramsSchema: { type: 'object' }, inputs: {}, outputs: ['text'], async run(ctx: any) { (await import('node:fs')).writeFileSync(ctx.output('text'), 'outside'); } };\n`);
    const ws = await workspace({ 'p.yaml': `name: out\nstages:\n  x: { uses: ${join(outside, 'stage.ts')} }\n`, 'q.yaml': 'name: out\nstages:\n  x: { uses: ../elsewhere/stage.ts }\n' });
    for (const args of [['validate', 'p.yaml'], ['dag', 'p.yaml'], ['run', 'p.yaml']]) {
      const r = await inkflow(ws, args);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/p\.yaml:3:\d+: stage "x" uses .*stage\.ts is outside the workspace/);
      expect(r.stderr).toContain('INKFLOW_STAGE_PATHS=');
    }
    expect(await stat(marker).catch(() => undefined)).toBeUndefined();
    const allowed = await runJson(ws, ['p.yaml'], { INKFLOW_STAGE_PATHS: outside });
    expect(allowed.statuses).toEqual({ x: 'ran' });
  });

  it('a param spliced into an sh -c script is refused with the safe form; as an argument it runs', async () => {
    const ws = await workspace({
      'p.yaml': 'name: sh\nparams: { who: world }\nstages:\n  greet:\n    uses: shell\n    params:\n      command: [sh, -c, "echo hello ${params.who} > \\"$0\\"", "{{out.greeting}}"]\n      outputs: [greeting]\n',
      'safe.yaml': 'name: sh\nparams: { who: world }\nstages:\n  greet:\n    uses: shell\n    params:\n      command: [sh, -c, "echo hello \\"$1\\" > \\"$0\\"", "{{out.greeting}}", "${params.who}"]\n      outputs: [greeting]\n',
    });
    const r = await inkflow(ws, ['run', 'p.yaml', '--set', 'params.who=x; touch pwned']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/p\.yaml:7:\d+: stage "greet": a \$\{params\.…\} or \$\{env\.…\} value is spliced into the shell script of `sh -c`/);
    expect(await stat(join(ws, 'pwned')).catch(() => undefined)).toBeUndefined();
    const safe = await runJson(ws, ['safe.yaml', '--set', 'params.who=x; touch pwned']);
    expect(safe.result.exitCode).toBe(0);
    expect(await readFile(join(ws, 'artifacts/sh/greet/greeting'), 'utf8')).toBe('hello x; touch pwned\n');
    expect(await stat(join(ws, 'pwned')).catch(() => undefined)).toBeUndefined();
  });

  it("a shell stage's cwd cannot leave the workspace", async () => {
    const ws = await workspace({ 'p.yaml': 'name: sh\nstages:\n  esc:\n    uses: shell\n    params: { command: [pwd], cwd: ../.. }\n' });
    const r = await runJson(ws, ['p.yaml']);
    expect(r.result.exitCode).toBe(1);
    const failure = r.events.find((e) => e.event === 'stage-end' && e.status === 'failed');
    expect(failure.error).toMatch(/shell: cwd "\.\.\/\.\." resolves to .*, outside the workspace/);
    expect((await inkflow(ws, ['verify'])).exitCode).toBe(0);
  });

  it('environment values are redacted in run records and manifests, and still key the cache', async () => {
    const ws = await workspace({
      'p.yaml': 'name: secret\nparams: { token: "${env.API_TOKEN}" }\nstages:\n  call:\n    uses: shell\n    params:\n      command: [sh, -c, "test -n \\"$TOKEN\\""]\n      env: { TOKEN: "${env.API_TOKEN}", BASE: "${params.token}" }\n',
    });
    const first = await runJson(ws, ['p.yaml'], { API_TOKEN: 's3cr3t-value' });
    expect(first.statuses).toEqual({ call: 'ran' });
    const [runId] = await readdir(join(ws, 'logs/runs'));
    const record = await readFile(join(ws, 'logs/runs', runId, 'run.json'), 'utf8');
    expect(record).not.toContain('s3cr3t-value');
    expect(JSON.parse(record).stageParams.call.env).toEqual({ TOKEN: '${env.API_TOKEN}', BASE: '${env.API_TOKEN}' });
    const key = first.summary.stages.call.key;
    expect(await readFile(join(ws, 'artifacts/objects', key.slice(0, 2), key, 'manifest.json'), 'utf8')).not.toContain('s3cr3t-value');
    expect((await runJson(ws, ['p.yaml'], { API_TOKEN: 's3cr3t-value' })).statuses).toEqual({ call: 'cached' });
    expect((await runJson(ws, ['p.yaml'], { API_TOKEN: 'other' })).statuses).toEqual({ call: 'ran' });
  });

  it('a 100,000-stage chain validates and dry-runs without overflowing the stack', async () => {
    // Linear time is measured by `npm run bench` (10k vs 100k stages); this checks depth alone.
    const ws = await workspace({ 'p.yaml': chain(100_000) });
    const dry = await runJson(ws, ['p.yaml', '--dry-run']);
    expect(dry.result.exitCode).toBe(0);
    expect(dry.statuses.s0).toBe('skipped');
    expect(dry.events.find((e) => e.stage === 's99999' && e.event === 'stage-end').reason).toBe('would run after "s99998"');
  }, 600_000);

  it('a 20,000-stage chain draws as text with bounded indentation', async () => {
    const ws = await workspace({ 'p.yaml': chain(20_000) });
    const dag = await inkflow(ws, ['dag', 'p.yaml']);
    expect(dag.exitCode).toBe(0);
    expect(dag.stdout).toContain('[19999] └─ s19999 (./stages/emit.ts)  ← s19998');
  }, 300_000);

  it('a 300-stage chain runs, reruns from a stage, and is all cached after', async () => {
    const ws = await workspace({ 'p.yaml': chain(300) });
    const first = await runJson(ws, ['p.yaml', '--concurrency', '4']);
    expect(first.result.exitCode).toBe(0);
    expect(Object.values(first.statuses).every((s) => s === 'ran')).toBe(true);
    const from = await runJson(ws, ['p.yaml', '--from', 's290']);
    expect(Object.values(from.statuses).filter((s) => s === 'ran')).toHaveLength(10);
    const again = await runJson(ws, ['p.yaml']);
    expect(Object.values(again.statuses).every((s) => s === 'cached')).toBe(true);
  }, 300_000);
});
