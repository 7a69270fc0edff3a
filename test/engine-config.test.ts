import { describe, expect, it } from 'vitest';
import { inkflow, workspace } from './helpers.js';

const valid = `name: demo
stages:
  a:
    uses: ./stages/emit.ts
    params: { text: one }
  b:
    uses: ./stages/emit.ts
    inputs: { upstream: a.text }
`;

describe('pipeline validation', () => {
  it('accepts a valid pipeline', async () => {
    const ws = await workspace({ 'p.yaml': valid });
    const r = await inkflow(ws, ['validate', 'p.yaml']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('ok (2 stages)');
  });

  it('reports every problem at once with file:line:col and suggestions', async () => {
    const ws = await workspace({
      'p.yaml': `name: demo
stages:
  a:
    uses: ./stages/emit.ts
    params:
      txt: one
      delay_ms: -5
  b:
    uses: shel
    params: {}
  c:
    uses: ./stages/emit.ts
    inputs: { upstream: aa.text, othr: a.text }
  d:
    uses: ./stages/emit.ts
    inputs: { upstream: a.txt }
    extra: 1
`,
    });
    const r = await inkflow(ws, ['validate', 'p.yaml']);
    expect(r.exitCode).toBe(1);
    const lines = r.stderr.split('\n');
    // The schema pass stops at the unknown top-level key before stage checks run.
    expect(lines).toContain('p.yaml:17:5: unknown key "extra" in stages.d; allowed: uses, description, params, inputs, resources, mutex');
    const fixed = await workspace({ 'p.yaml': (await import('node:fs')).readFileSync(`${ws}/p.yaml`, 'utf8').replace('    extra: 1\n', '') });
    const r2 = await inkflow(fixed, ['validate', 'p.yaml']);
    expect(r2.exitCode).toBe(1);
    const out = r2.stderr;
    expect(out).toContain('p.yaml:6:7: unknown key "txt" in stages.a.params (did you mean "text"?); allowed: text, delay_ms, fail, data, needs, partial_then_hang, stranded');
    expect(out).toContain('p.yaml:7:17: stages.a.params.delay_ms must be >= 0');
    expect(out).toContain('p.yaml:9:11: stage "b" uses unknown stage module "shel" (did you mean "shell"?)');
    expect(out).toContain('p.yaml:13:25: input "upstream" refers to missing stage "aa" (did you mean "a"?)');
    expect(out).toContain('p.yaml:13:34: stage "c" (./stages/emit.ts) has no input "othr" (did you mean "other"?)');
    expect(out).toContain('p.yaml:16:25: stage "a" has no output "txt" (did you mean "text"?)');
    expect(out).toMatch(/6 problem\(s\) found; nothing was run/);
  });

  it('reports YAML syntax errors and duplicate stage names with positions', async () => {
    const ws = await workspace({ 'p.yaml': 'name: demo\nstages:\n  a:\n    uses: ./stages/emit.ts\n  a:\n    uses: ./stages/emit.ts\n' });
    const r = await inkflow(ws, ['validate', 'p.yaml']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^p\.yaml:5:3: Map keys must be unique/m);
  });

  it('prints the cycle path', async () => {
    const ws = await workspace({
      'p.yaml': `name: demo
stages:
  a: { uses: ./stages/emit.ts, inputs: { upstream: c.text } }
  b: { uses: ./stages/emit.ts, inputs: { upstream: a.text } }
  c: { uses: ./stages/emit.ts, inputs: { upstream: b.text } }
`,
    });
    const r = await inkflow(ws, ['validate', 'p.yaml']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/p\.yaml:3:3: stages form a cycle: (a -> c -> b -> a|a -> b -> c -> a)/);
  });

  it('types --set values by the stage schema and rejects unknown params', async () => {
    const ws = await workspace({ 'p.yaml': valid });
    expect((await inkflow(ws, ['validate', 'p.yaml', '--set', 'a.delay_ms=5'])).exitCode).toBe(0);
    const bad = await inkflow(ws, ['validate', 'p.yaml', '--set', 'a.delay_ms=soon', '--set', 'a.textt=x']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('--set: stage "a" (./stages/emit.ts) has no param "textt" (did you mean "text"?)');
    expect(bad.stderr).toContain('stages.a.params.delay_ms must be integer');
  });

  it('names an undefined ${params.x} reference', async () => {
    const ws = await workspace({ 'p.yaml': 'name: demo\nparams: { greeting: hi }\nstages:\n  a:\n    uses: ./stages/emit.ts\n    params: { text: "${params.greting}" }\n' });
    const r = await inkflow(ws, ['validate', 'p.yaml']);
    expect(r.stderr).toContain('p.yaml:6:21: ${params.greting} is not defined (did you mean "greeting"?)');
  });

  it('include builds on another pipeline; a clashing stage name is reported where it is defined', async () => {
    const ws = await workspace({
      'base.yaml': 'name: base\nparams: { greeting: hi }\nstages:\n  a: { uses: ./stages/emit.ts, params: { text: "${params.greeting}" } }\n',
      'p.yaml': 'name: top\ninclude: [base.yaml]\nstages:\n  b: { uses: ./stages/emit.ts, inputs: { upstream: a.text } }\n',
      'clash.yaml': 'name: clash\ninclude: [base.yaml]\nstages:\n  a: { uses: ./stages/emit.ts }\n',
    });
    const ok = await inkflow(ws, ['validate', 'p.yaml']);
    expect(ok.stdout).toContain('ok (2 stages)');
    const clash = await inkflow(ws, ['validate', 'clash.yaml']);
    expect(clash.stderr).toContain('clash.yaml:4:3: stage "a" is already defined in base.yaml; rename one of them');
    const missing = await inkflow(ws, ['validate', 'clash.yaml'.replace('clash', 'p'), '--set', 'params.greeting=yo']);
    expect(missing.exitCode).toBe(0);
  });

  it('validates every shipped pipeline', async () => {
    for (const file of ['pipelines/letters.yaml', 'pipelines/quick.yaml', 'pipelines/phrases.yaml', 'bench/pipelines/peer.yaml']) {
      const r = await inkflow(process.cwd(), ['validate', file]);
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
    }
  });
});
