import { describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { inkflow, runJson, workspace } from '../helpers.js';
import { badDataCases, writeCase } from './bad-data.js';

describe('bad data files: a one-line error naming the file, no artifact, a clean store', () => {
  it.each(badDataCases().map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const ws = await workspace({ 'p.yaml': `name: data\nstages:\n  load:\n    uses: load\n    params: ${c.params}\n` });
    await writeCase(ws, c);
    for (const fifo of c.fifos ?? []) await execa('mkfifo', [join(ws, fifo)]);
    const run = await runJson(ws, ['p.yaml']);
    expect(run.result.exitCode).toBe(1);
    const failure = run.events.find((e) => e.event === 'stage-end' && e.status === 'failed');
    expect(failure.error).toContain(c.names);
    expect(failure.error).toMatch(c.error);
    expect(failure.error).not.toMatch(/\n\s+at /);
    expect(await readdir(join(ws, 'artifacts/objects')).catch(() => [])).toEqual([]);
    const verify = await inkflow(ws, ['verify']);
    expect(verify.exitCode).toBe(0);
  }, 30_000);
});
