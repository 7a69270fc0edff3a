/** The dashboard's view of run records, on real files: paging, sorting, varying params, and no secrets. */
import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunRecords } from '../src/ui/records.js';
import { runDetails } from '../src/ui/run-details.js';
import { listRunSummaries } from '../src/engine/run-record.js';
import { runTable } from '../src/exp/run-table.js';

async function recordsDir(count: number): Promise<{ ws: string; runs: string }> {
  const ws = await mkdtemp(join(tmpdir(), 'inkflow-ui-records-'));
  const runs = join(ws, 'logs', 'runs');
  for (let i = 0; i < count; i++) {
    const runId = `2026-01-01T00-00-${String(i).padStart(2, '0')}-000-00000${i % 10}`;
    await mkdir(join(runs, runId), { recursive: true });
    await writeFile(join(runs, runId, 'run.json'), JSON.stringify({
      runId, pipeline: i % 2 ? 'odd' : 'even', pipelineFile: 'pipelines/x.yaml', startedAt: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000Z`, finishedAt: `2026-01-01T00:01:00.000Z`,
      ok: i !== 3, cancelled: false, trigger: 'cli', options: {}, ...(i === 4 ? { stopReason: 'median stopping rule' } : {}),
      params: { seed: 1, api_token: 'sk-very-secret' },
      stageParams: { train: { epochs: i, password: 'hunter2' }, [i % 2 ? 'odd' : 'even']: { only_here: 5 } },
      stages: { train: { status: 'ran', uses: 'train', seconds: 1, metrics: { accuracy: i / 100 } } },
      environment: { node: 'v20', platform: 'linux-x64', inkflow: '0.1.0', gitCommit: 'abc', backend: 'wasm', HF_TOKEN: 'hf_secret' },
    }));
  }
  return { ws, runs };
}

describe('run records for the dashboard', () => {
  it('pages and sorts on the server, and lists only params that differ', async () => {
    const { runs } = await recordsDir(25);
    const records = new RunRecords(runs);
    const first = await records.page({ limit: 10, sort: 'train.accuracy', descending: true });
    expect(first.total).toBe(25);
    expect(first.rows.map((r) => r.metrics['train.accuracy'])).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15].map((i) => i / 100));
    const last = await records.page({ offset: 20, limit: 10, sort: 'train.epochs' });
    expect(last.rows.map((r) => r.params['train.epochs'])).toEqual([20, 21, 22, 23, 24]);
    // only_here exists per pipeline with one value: not a difference. seed never differs.
    expect(first.paramColumns).toEqual(['train.epochs']);
    expect((await records.page({ filter: 'odd' })).total).toBe(12);
    expect((await records.page({ status: 'failed' })).rows.map((r) => r.runId)).toEqual(['2026-01-01T00-00-03-000-000003']);
  });

  it('flattens a run record as the CLI run table does: one status, duration, param and metric per run', async () => {
    const { runs } = await recordsDir(6);
    const dashboard = (await new RunRecords(runs).page({ sort: 'runId', descending: false })).rows;
    const table = runTable(await listRunSummaries(runs)).rows;
    expect(dashboard.map((r) => r.runId)).toEqual(table.map((r) => r.run));
    expect(dashboard.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'failed', 'stopped', 'ok']);
    dashboard.forEach((row, i) => {
      const cli = table[i]!;
      expect(row.status).toBe(cli.result);
      expect(Number(row.seconds.toFixed(1))).toBe(cli.seconds);
      expect(row.metrics['train.accuracy']).toBe(cli['train.accuracy']);
      // Both list train.epochs, the param that differs; the dashboard redacts what the CLI (on the user's own machine) shows.
      expect(row.params['train.epochs']).toBe(cli['train.epochs']);
    });
  });

  it('never hands out secret-looking params or environment values', async () => {
    const { ws, runs } = await recordsDir(2);
    const records = new RunRecords(runs);
    const page = JSON.stringify(await records.page({}));
    const details = JSON.stringify(await runDetails((await records.get((await records.all())[0]!.record.runId))!, ws));
    for (const text of [page, details]) {
      expect(text).not.toContain('sk-very-secret');
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('hf_secret');
    }
    expect(details).toContain('api_token');
  });
});
