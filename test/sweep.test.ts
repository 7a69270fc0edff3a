/** Sweep expansion: seeded random draws inside their ranges, evenly spaced grids, `--set` lists, and sweep-file errors. */
import { describe, expect, it } from 'vitest';
import { expandSweep, loadSweepFile, sweepFromSets } from '../src/exp/sweep.js';
import { MedianStopper } from '../src/exp/median-stop.js';
import { workspace } from './helpers.js';
import { join } from 'node:path';

describe('sweeps', () => {
  it('random: the same seed draws the same variants, every value inside its range', () => {
    const spec = {
      method: 'random' as const,
      seed: 11,
      max_runs: 40,
      parameters: {
        'train.learning_rate': { loguniform: [1e-4, 1e-2] as [number, number] },
        'train.dropout': { uniform: [0.1, 0.5] as [number, number] },
        'train.epochs': { int: [1, 3] as [number, number] },
        'build-model.preset': { choice: ['seed-cnn', 'default'] },
      },
      set: { 'train.seed': 7 },
    };
    const a = expandSweep(spec);
    expect(expandSweep(spec)).toEqual(a);
    expect(expandSweep({ ...spec, seed: 12 })).not.toEqual(a);
    expect(a).toHaveLength(40);
    for (const { overrides: o } of a) {
      expect(o['train.learning_rate']).toBeGreaterThanOrEqual(1e-4);
      expect(o['train.learning_rate']).toBeLessThanOrEqual(1e-2);
      expect(o['train.dropout']).toBeGreaterThanOrEqual(0.1);
      expect(o['train.dropout']).toBeLessThanOrEqual(0.5);
      expect([1, 2, 3]).toContain(o['train.epochs']);
      expect(['seed-cnn', 'default']).toContain(o['build-model.preset']);
      expect(o['train.seed']).toBe(7);
    }
    // Log-uniform: about as many draws below 1e-3 as above.
    const below = a.filter((v) => (v.overrides['train.learning_rate'] as number) < 1e-3).length;
    expect(below).toBeGreaterThan(10);
    expect(below).toBeLessThan(30);
    expect(new Set(a.map((v) => v.overrides['train.epochs'])).size).toBe(3);
  });

  it('grid: cartesian product, ranges spaced by count, max_runs caps it; --set lists split outside brackets', () => {
    const grid = expandSweep({ method: 'grid', seed: 0, parameters: { 'train.learning_rate': { loguniform: [1e-4, 1e-2], count: 3 }, 'train.batch_size': [32, 64] } });
    expect(grid.map((v) => v.name)).toEqual([
      'learning_rate=0.0001 batch_size=32', 'learning_rate=0.0001 batch_size=64',
      'learning_rate=0.001 batch_size=32', 'learning_rate=0.001 batch_size=64',
      'learning_rate=0.01 batch_size=32', 'learning_rate=0.01 batch_size=64',
    ]);
    expect(expandSweep({ method: 'grid', seed: 0, max_runs: 4, parameters: { 'a.x': [1, 2, 3], 'b.x': [1, 2] } }).map((v) => v.name)).toEqual(['a.x=1 b.x=1', 'a.x=1 b.x=2', 'a.x=2 b.x=1', 'a.x=2 b.x=2']);
    const sets = sweepFromSets(['train.learning_rate=1e-3,3e-4', 'train.augment={shift: 0.1, rotate: 8}', 'train.epochs=2', 'build-model.layers=[{type: flatten}],[{type: dropout, rate: 0.5}]']);
    expect(sets.parameters).toEqual({ 'train.learning_rate': [0.001, 0.0003], 'build-model.layers': [[{ type: 'flatten' }], [{ type: 'dropout', rate: 0.5 }]] });
    expect(sets.fixed).toEqual(['train.augment={shift: 0.1, rotate: 8}', 'train.epochs=2']);
  });

  it('a sweep file needs only its parameters: the method, seed and stopping-rule counts default', async () => {
    const ws = await workspace({ 's.yaml': 'parameters:\n  train.epochs: [1, 2]\nearly_terminate: { type: median, metric: train.val_loss }\n' });
    const spec = await loadSweepFile(join(ws, 's.yaml'));
    expect(spec).toMatchObject({ method: 'grid', seed: 0, early_terminate: { type: 'median', metric: 'train.val_loss', min_epochs: 1, min_runs: 2 } });
    expect(expandSweep(spec).map((v) => v.name)).toEqual(['epochs=1', 'epochs=2']);
  });

  it('sweep-file errors carry file:line:col', async () => {
    const ws = await workspace({ 'bad.yaml': 'method: grid\nparameters:\n  train.learning_rate: { loguniform: [1e-2, 1e-4], count: 2 }\n  train.epochs: { int: [1, 3], cnt: 2 }\n' });
    const err = await loadSweepFile(join(ws, 'bad.yaml')).catch((e: Error) => e);
    expect(String(err)).toMatch(/bad\.yaml:4:\d+: .*parameters\.train\.epochs/);
    const backwards = await workspace({ 'b.yaml': 'method: grid\nparameters:\n  train.learning_rate: { loguniform: [1e-2, 1e-4], count: 2 }\n' });
    expect(String(await loadSweepFile(join(backwards, 'b.yaml')).catch((e: Error) => e))).toMatch(/b\.yaml:3:24: parameters\.train\.learning_rate: the range \[0\.01, 0\.0001\] runs backwards/);
  });

  it('median rule: compares best-so-far values with earlier runs at the same epoch, not before min_epochs', () => {
    const rule = new MedianStopper({ type: 'median', metric: 'train.val_loss', min_epochs: 2, min_runs: 2 });
    expect(rule.goal).toBe('minimize');
    for (const [order, values] of [[0, [1.0, 0.8, 0.6]], [1, [1.2, 0.7, 0.5]]] as const) values.forEach((v, i) => expect(rule.observe(order, 'train', i + 1, { val_loss: v })).toBeUndefined());
    expect(rule.observe(2, 'evaluate', 1, { val_loss: 9 })).toBeUndefined();
    expect(rule.observe(2, 'train', 1, { val_loss: 5 })).toBeUndefined();
    expect(rule.observe(2, 'train', 2, { val_loss: 0.74 })).toBeUndefined();
    expect(rule.observe(2, 'train', 3, { val_loss: 0.6 })).toMatch(/best train\.val_loss 0\.6 by epoch 3 is worse than the median 0\.55 of 2 earlier run/);
  });
});
