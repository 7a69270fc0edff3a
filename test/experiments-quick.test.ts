/**
 * A 2x2 grid of pipelines/quick.yaml on the real NIST letters (few steps), two
 * variants at a time: stages the variants share run exactly once; then the best
 * model is promoted and read back with `predict --model models/letters`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_DIR, inkflow, ROOT, workspace } from './helpers.js';

let ws: string;
let sweep: Awaited<ReturnType<typeof inkflow>>;

interface Record {
  runId: string;
  ok: boolean;
  experiment?: { name: string };
  stages: { [stage: string]: { status: string; key?: string; epochs?: unknown[] } };
}

async function records(): Promise<Record[]> {
  const dir = join(ws, 'logs', 'runs');
  return Promise.all((await readdir(dir)).sort().map(async (id) => JSON.parse(await readFile(join(dir, id, 'run.json'), 'utf8')) as Record));
}

/** PNG width and height from its IHDR chunk. */
async function pngSize(file: string): Promise<[number, number]> {
  const bytes = await readFile(file);
  expect(bytes.subarray(1, 4).toString()).toBe('PNG');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

beforeAll(async () => {
  ws = await workspace();
  await cp(join(ROOT, 'pipelines'), join(ws, 'pipelines'), { recursive: true });
  sweep = await inkflow(ws, ['exp', 'run', 'pipelines/quick.yaml', '--set', 'train.learning_rate=1e-3,3e-3', '--set', 'train.batch_size=32,64', '--set', 'train.epochs=2', '--set', 'train.steps_per_epoch=3', '--jobs', '2', '--metric', 'evaluate.accuracy']);
}, 400_000);

describe('a 2x2 grid on quick.yaml', () => {
  it('runs four variants; every stage they share ran exactly once', async () => {
    expect(sweep.exitCode, sweep.all).toBe(0);
    const runs = await records();
    expect(runs).toHaveLength(4);
    expect(runs.every((r) => r.ok)).toBe(true);
    expect(runs.map((r) => r.experiment!.name).sort()).toEqual([
      'learning_rate=0.001 batch_size=32', 'learning_rate=0.001 batch_size=64', 'learning_rate=0.003 batch_size=32', 'learning_rate=0.003 batch_size=64',
    ]);
    const shared = ['load-train', 'load-test', 'sample-train', 'sample-test', 'normalize-train', 'normalize-validation', 'normalize-test', 'reshape-train', 'reshape-validation', 'reshape-test', 'build-model', 'write-labels'];
    for (const stage of shared) {
      expect(runs.filter((r) => r.stages[stage].status === 'ran').length, stage).toBe(1);
      expect(new Set(runs.map((r) => r.stages[stage].key)).size, stage).toBe(1);
    }
    for (const stage of ['train', 'evaluate']) expect(runs.map((r) => r.stages[stage].status), stage).toEqual(['ran', 'ran', 'ran', 'ran']);
    expect(new Set(runs.map((r) => r.stages.train.key)).size).toBe(4);
    expect(runs.every((r) => r.stages.train.epochs?.length === 2)).toBe(true);
    expect(sweep.stdout).toMatch(/ranked by evaluate\.accuracy \(maximize\)/);
    expect(sweep.stdout).toMatch(/train\.learning_rate: 0\.001 → [\d.]+ \(mean of 2\), 0\.003 → [\d.]+ \(mean of 2\)/);
    const png = /plot: (\S+summary\.png)/.exec(sweep.stdout)![1];
    const [width, height] = await pngSize(join(ws, png));
    expect(width).toBeGreaterThan(1200); // two panels side by side
    expect(height).toBeGreaterThan(500);
  });

  it('the runs table shows the swept params and the metrics', async () => {
    const table = await inkflow(ws, ['runs', '--sort', 'evaluate.accuracy:desc', '--only-changed']);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^RUN\s+PIPELINE\s+RESULT\s+EXPERIMENT\s+SECONDS\s+.*train\.batch_size\s+train\.learning_rate\s+.*evaluate\.accuracy/);
    expect(lines).toHaveLength(5);
  });

  it('plots diff overlays the runs\' curves; the best model is promoted and reads letters with --model models/letters', async () => {
    const plot = await inkflow(ws, ['plots', 'diff', 'latest', 'latest~1', 'latest~2', 'latest~3', '--metric', 'val_accuracy', '--metric', 'train.loss', '--out', 'curves.png']);
    expect(plot.exitCode, plot.all).toBe(0);
    const [width, height] = await pngSize(join(ws, 'curves.png'));
    expect(width).toBeGreaterThan(1200);
    expect(height).toBeGreaterThan(500);

    const best = /^best: (\S+)/m.exec(sweep.stdout)![1];
    const promoted = await inkflow(ws, ['exp', 'promote', best, '--as', 'letters']);
    expect(promoted.exitCode, promoted.all).toBe(0);
    expect(JSON.parse(await readFile(join(ws, 'models', 'letters', 'current', 'labels.json'), 'utf8'))).toMatchObject({ 0: 'a', 25: 'z' });
    const crops = join(DATA_DIR, 'chars62-scans', 'lower_a');
    const images = (await readdir(crops)).slice(0, 3).map((f) => join(crops, f));
    const predicted = await inkflow(ws, ['predict', '--model', 'models/letters', '--json', ...images]);
    expect(predicted.exitCode, predicted.all).toBe(0);
    const rows = predicted.stdout.trim().split('\n').map((l) => JSON.parse(l) as { letter: string; confidence: number });
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.letter).toMatch(/^[a-z]$/);
  });
});
