/** Seeded subsets: a count or fraction, stratified or capped per class, and a train/validation split (optionally writer-disjoint). */
import { defineStage, strictObject } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readDataset, selectSamples, writeDataset, type Dataset } from '../src/data/dataset.js';
import { rng, shuffle } from '../src/util/random.js';

interface SubsetParams {
  mask?: string;
  count?: number;
  fraction?: number;
  stratify: boolean;
  per_class?: number;
  validation_fraction: number;
  writer_disjoint: boolean;
  seed: number;
}

export default defineStage<SubsetParams>({
  description: 'take a seeded subset and split off validation data',
  version: 1,
  paramsSchema: strictObject({
    properties: {
      mask: { type: 'string', description: 'keep only samples in this named mask first (e.g. balanced800)' },
      count: { type: 'integer', minimum: 1 },
      fraction: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
      stratify: { type: 'boolean', default: true },
      per_class: { type: 'integer', minimum: 1, description: 'cap on samples per class (balanced subset)' },
      validation_fraction: { type: 'number', minimum: 0, maximum: 0.9, default: 0 },
      writer_disjoint: { type: 'boolean', default: false },
      seed: { type: 'integer', default: 0 },
    },
    not: { required: ['count', 'fraction'] },
  }),
  inputs: { dataset: { description: 'dataset to take from', required: true } },
  outputs: ['dataset', 'validation'],
  async run(ctx) {
    const p = ctx.params;
    const ds = await readDataset(ctx.inputs.dataset);
    const random = rng(p.seed);
    let pool = Array.from({ length: ds.meta.count }, (_, i) => i);
    if (p.mask) {
      const mask = ds.masks[p.mask] ?? (() => { throw new UserInputError(`subset: dataset has no mask "${p.mask}"; masks: ${Object.keys(ds.masks).join(', ') || 'none'}`); })();
      pool = pool.filter((i) => mask[i]);
    }
    shuffle(pool, random);
    if (p.per_class) pool = capPerClass(pool, ds.labels, p.per_class);
    const want = p.count ?? (p.fraction !== undefined ? Math.round(p.fraction * pool.length) : pool.length);
    if (want > pool.length) throw new UserInputError(`subset: count ${want} is more than the ${pool.length} samples available`);
    if (want < pool.length) pool = p.stratify ? stratified(pool, ds.labels, ds.meta.classes.length, want) : pool.slice(0, want);

    const [train, validation] = p.writer_disjoint ? splitByWriter(pool, ds, p.validation_fraction, random) : splitPlain(pool, p.validation_fraction);
    ctx.log.info(`${train.length} selected, ${validation.length} for validation${p.writer_disjoint ? ' (writer-disjoint)' : ''}`);
    ctx.recordMetrics({ selected: train.length, validation: validation.length });
    await writeDataset(ctx.output('dataset'), selectSamples(ds, train.sort((a, b) => a - b)));
    await writeDataset(ctx.output('validation'), selectSamples(ds, validation.sort((a, b) => a - b)));
  },
});

function capPerClass(pool: number[], labels: Int32Array, cap: number): number[] {
  const taken = new Map<number, number>();
  return pool.filter((i) => {
    const n = taken.get(labels[i]) ?? 0;
    taken.set(labels[i], n + 1);
    return n < cap;
  });
}

/** Keeps each class's share of the pool, distributing rounding remainders by largest fraction. */
function stratified(pool: number[], labels: Int32Array, classes: number, want: number): number[] {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (const i of pool) byClass[labels[i]].push(i);
  const exact = byClass.map((c) => (c.length * want) / pool.length);
  const counts = exact.map(Math.floor);
  let left = want - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((e, k) => [e - Math.floor(e), k] as const).sort((a, b) => b[0] - a[0]);
  for (const [, k] of order) {
    if (left <= 0) break;
    if (counts[k] < byClass[k].length) {
      counts[k]++;
      left--;
    }
  }
  return byClass.flatMap((c, k) => c.slice(0, counts[k]));
}

function splitPlain(pool: number[], fraction: number): [number[], number[]] {
  const v = Math.round(pool.length * fraction);
  return [pool.slice(v), pool.slice(0, v)];
}

function splitByWriter(pool: number[], ds: Dataset, fraction: number, random: () => number): [number[], number[]] {
  if (!ds.writers) throw new UserInputError('subset: writer_disjoint needs writer ids, and this dataset has none');
  const byWriter = new Map<number, number[]>();
  for (const i of pool) {
    const group = byWriter.get(ds.writers[i]);
    if (group) group.push(i);
    else byWriter.set(ds.writers[i], [i]);
  }
  const writers = shuffle([...byWriter.keys()].sort((a, b) => a - b), random);
  const target = pool.length * fraction;
  const validation: number[] = [];
  const train: number[] = [];
  for (const w of writers) (validation.length < target ? validation : train).push(...byWriter.get(w)!);
  return [train, validation];
}
