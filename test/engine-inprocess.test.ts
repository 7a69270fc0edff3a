/**
 * The engine in-process: loadPipeline and runPipeline on fixture workspaces, with
 * the events a reporter would see captured. No build and no child process.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../src/engine/config.js';
import { runPipeline, type RunOptions } from '../src/engine/executor.js';
import type { RunEvent } from '../src/engine/events.js';
import { pipelineStatus } from '../src/engine/status.js';
import { ConfigError, UserInputError } from '../src/errors.js';
import { readdirSync } from 'node:fs';
import { DATA_DIR, ROOT, workspace, DEMO_PIPELINE as PIPELINE } from './helpers.js';


async function run(ws: string, overrides: string[] = [], options: Partial<RunOptions> = {}) {
  const pipeline = await loadPipeline(join(ws, 'p.yaml'), { workspace: ws, overrides });
  const events: RunEvent[] = [];
  const result = await runPipeline(pipeline, { workspace: ws, onEvent: (e) => events.push(e), ...options });
  const statuses = Object.fromEntries(Object.entries(result.stages).map(([k, v]) => [k, v.status]));
  return { result, events, statuses };
}

describe('runPipeline in-process', () => {
  it('runs, reports every stage through events, then hits the cache with the same keys', async () => {
    const ws = await workspace({ 'p.yaml': PIPELINE, 'data.txt': 'v1\n' });
    const first = await run(ws);
    expect(first.statuses).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    expect(first.events[0]).toMatchObject({ event: 'run-start', pipeline: 'demo', environment: {} });
    expect(first.events.filter((e) => e.event === 'stage-start').map((e) => e.event === 'stage-start' && e.stage).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(first.events.at(-1)).toMatchObject({ event: 'summary', ok: true });
    expect(await readFile(join(ws, 'artifacts/demo/d/text'), 'utf8')).toBe('d+b+hello!!+c@v1!!');

    const second = await run(ws);
    expect(second.statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
    for (const name of ['a', 'b', 'c', 'd']) expect(second.result.stages[name]?.key).toBe(first.result.stages[name]?.key);
    expect(second.events.some((e) => e.event === 'stage-start')).toBe(false);
  });

  it('a changed data file reruns its stage and what depends on it; status and dry-run say why', async () => {
    const ws = await workspace({ 'p.yaml': PIPELINE, 'data.txt': 'v1\n' });
    await run(ws);
    await writeFile(join(ws, 'data.txt'), 'v2\n');
    const pipeline = await loadPipeline(join(ws, 'p.yaml'), { workspace: ws });
    const status = await pipelineStatus(pipeline, ws);
    expect(status.map((s) => [s.stage, s.state])).toEqual([['a', 'cached'], ['b', 'cached'], ['c', 'stale'], ['d', 'blocked']]);
    expect(status.find((s) => s.stage === 'c')?.reasons).toEqual(['data file data.txt changed']);
    const dry = await run(ws, [], { dryRun: true });
    expect(dry.events).toContainEqual(expect.objectContaining({ event: 'stage-end', stage: 'c', status: 'skipped', reason: 'would run: data file data.txt changed' }));
    expect(dry.events).toContainEqual(expect.objectContaining({ event: 'stage-end', stage: 'd', status: 'skipped', reason: 'would run after "c"' }));
    expect((await run(ws)).statuses).toEqual({ a: 'cached', b: 'cached', c: 'ran', d: 'ran' });
  });

  it('a failing stage fails its dependants only, and its error is in the events and the result', async () => {
    const ws = await workspace({ 'p.yaml': PIPELINE.replace('params: { text: b }', 'params: { text: b, fail: true }'), 'data.txt': 'x\n' });
    const { result, events, statuses } = await run(ws);
    expect(result.ok).toBe(false);
    expect(statuses).toEqual({ a: 'ran', b: 'failed', c: 'ran', d: 'skipped' });
    const failed = events.find((e) => e.event === 'stage-end' && e.stage === 'b');
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringContaining('this stage was told to fail') });
  });

  it('ctx.input gives a wired input and names an unwired one with what to do', async () => {
    const ws = await workspace({
      'p.yaml': PIPELINE.replace('params: { text: b }', 'params: { text: b, needs: upstream }').replace('params: { text: c, data: data.txt }', 'params: { text: c, data: data.txt, needs: upstream }'),
      'data.txt': 'x\n',
    });
    const { events, statuses } = await run(ws);
    expect(statuses).toEqual({ a: 'ran', b: 'ran', c: 'failed', d: 'skipped' });
    const failed = events.find((e) => e.event === 'stage-end' && e.stage === 'c');
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringContaining('stage "c" (./stages/emit.ts) needs input "upstream": wire it') });
  });

  it('an aborted signal cancels a running stage and publishes nothing for it', async () => {
    const ws = await workspace({ 'p.yaml': 'name: cancel\nstages:\n  slow: { uses: ./stages/emit.ts, params: { text: s, delay_ms: 30000 } }\n' });
    const controller = new AbortController();
    const pipeline = await loadPipeline(join(ws, 'p.yaml'), { workspace: ws });
    const events: RunEvent[] = [];
    const running = runPipeline(pipeline, { workspace: ws, signal: controller.signal, onEvent: (e) => {
      events.push(e);
      if (e.event === 'stage-start') controller.abort();
    } });
    const result = await running;
    expect(result).toMatchObject({ ok: false, cancelled: true });
    expect(events).toContainEqual(expect.objectContaining({ event: 'stage-end', stage: 'slow', status: 'skipped', error: 'cancelled' }));
    expect((await pipelineStatus(pipeline, ws))[0]?.state).toBe('new');
  });

  it('--only and --from select, and an unknown stage is a user error', async () => {
    const ws = await workspace({ 'p.yaml': PIPELINE, 'data.txt': 'v1\n' });
    const refused = await run(ws, [], { only: 'd' });
    expect(refused.result.ok).toBe(false);
    expect(refused.events).toContainEqual(expect.objectContaining({ event: 'stage-end', status: 'failed', error: expect.stringContaining('--only d needs the result of') }));
    await run(ws);
    expect((await run(ws, [], { only: 'b' })).statuses).toEqual({ a: 'cached', b: 'ran' });
    expect((await run(ws, [], { from: 'b' })).statuses).toEqual({ a: 'cached', b: 'ran', c: 'cached', d: 'ran' });
    await expect(run(ws, [], { only: 'nope' })).rejects.toBeInstanceOf(UserInputError);
  });
});

describe('loadPipeline in-process', () => {
  it('interpolates ${params.x} keeping its type, ${env.X:-default}, and strings with several references', async () => {
    const ws = await workspace({
      'p.yaml': `name: interp
params: { n: 3, word: hi }
stages:
  a:
    uses: ./stages/emit.ts
    params: { delay_ms: "\${params.n}", text: "\${params.word}-\${env.INKFLOW_TEST_UNSET:-fallback}-\${env.INKFLOW_TEST_SET}" }
`,
    });
    const pipeline = await loadPipeline(join(ws, 'p.yaml'), { workspace: ws, env: { INKFLOW_TEST_SET: 'set' } });
    expect(pipeline.stages.get('a')?.params).toEqual({ delay_ms: 3, text: 'hi-fallback-set', fail: false, partial_then_hang: false, stranded: false });
    const overridden = await loadPipeline(join(ws, 'p.yaml'), { workspace: ws, env: { INKFLOW_TEST_SET: 'x' }, overrides: ['params.n=5', 'a.text=typed'] });
    expect(overridden.stages.get('a')?.params).toMatchObject({ delay_ms: 5, text: 'typed' });
  });

  it('collects every problem with file:line:col', async () => {
    const ws = await workspace({
      'p.yaml': `name: bad
stages:
  a:
    uses: ./stages/emit.ts
    params: { txet: 1, delay_ms: "\${params.missing}" }
  b:
    uses: ./stages/emit.ts
    inputs: { upstream: nowhere.text }
`,
    });
    const error = await loadPipeline(join(ws, 'p.yaml'), { workspace: ws }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const messages = (error as ConfigError).diagnostics.map((d) => `${d.where.replace(/^.*p\.yaml/, 'p.yaml')}: ${d.message}`);
    expect(messages).toEqual(expect.arrayContaining([
      expect.stringMatching(/^p\.yaml:5:\d+: \$\{params\.missing\} is not defined/),
      expect.stringMatching(/^p\.yaml:5:\d+: unknown key "txet" in stages\.a\.params \(did you mean "text"\?\)/),
      expect.stringMatching(/^p\.yaml:8:\d+: input "upstream" refers to missing stage "nowhere"/),
    ]));
  });

  it.each(readdirSync(join(ROOT, 'pipelines')).filter((f) => f.endsWith('.yaml')))('resolves the shipped %s from the TypeScript sources', async (file) => {
    const pipeline = await loadPipeline(join(ROOT, 'pipelines', file), { workspace: ROOT, env: { ...process.env, INKFLOW_DATA_DIR: DATA_DIR } });
    expect(pipeline.stages.size).toBeGreaterThan(0);
    for (const stage of pipeline.stages.values()) expect(stage.moduleFile).toMatch(/\/stages\/[a-z0-9-]+\.ts$/);
    const train = pipeline.stages.get('train');
    if (train?.uses === 'train') {
      // Defaults from the TypeBox schema are applied, nested ones included.
      expect(train.params).toMatchObject({ sampling: expect.any(String), reduce_lr: { enabled: expect.any(Boolean), monitor: expect.any(String), cooldown: 0 }, early_stopping: { restore_best_weights: true } });
    }
  });
});
