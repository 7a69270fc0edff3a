/** Seeded subsets: a count or fraction, stratified or capped per class, and a train/validation split (optionally writer-disjoint). */
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readDataset, selectSamples, writeDataset, type Dataset } from '../src/data/dataset.js';
import { rng, shuffle } from '../src/util/random.js';

const subsetParams = StrictObject({
  mask: Type.Optional(Type.String({ description: 'keep only samples in this named mask first (e.g. balanced800)' })),
  count: Type.Optional(Type.Integer({ minimum: 1 })),
  fraction: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  stratify: Type.Boolean({ default: true }),
  per_class: Type.Optional(Type.Integer({ minimum: 1, description: 'cap on samples per class (balanced subset)' })),
  validation_fraction: Type.Number({ minimum: 0, maximum: 0.9, default: 0 }),
  writer_disjoint: Type.Boolean({ default: false }),
  seed: Type.Integer({ default: 0 }),
}, { not: { required: ['count', 'fraction'] } });

export default defineStage<Static<typeof subsetParams>>({
  description: 'take a seeded subset and split off validation data',
  version: 1,
  paramsSchema: subsetParams,
  inputs: { dataset: { description: 'dataset to take from', required: true } },
  outputs: ['dataset', 'validation'],
  async run(ctx) {
    const p = ctx.params;
    const ds = await readDataset(ctx.input('dataset'));
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
    const label = labels[i]!; // the pool holds sample indices
    const n = taken.get(label) ?? 0;
    taken.set(label, n + 1);
    return n < cap;
  });
}

/** Keeps each class's share of the pool, distributing rounding remainders by largest fraction. */
function stratified(pool: number[], labels: Int32Array, classes: number, want: number): number[] {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (const i of pool) {
    const members = byClass[labels[i]!];
    if (!members) throw new UserInputError(`subset: sample ${i} has label ${labels[i]}, which is not one of the dataset's ${classes} classes`);
    members.push(i);
  }
  const shares = byClass.map((members) => {
    const exact = (members.length * want) / pool.length;
    return { members, count: Math.floor(exact), fraction: exact - Math.floor(exact) };
  });
  let left = want - shares.reduce((a, s) => a + s.count, 0);
  for (const share of [...shares].sort((a, b) => b.fraction - a.fraction)) {
    if (left <= 0) break;
    if (share.count < share.members.length) {
      share.count++;
      left--;
    }
  }
  return shares.flatMap((s) => s.members.slice(0, s.count));
}

function splitPlain(pool: number[], fraction: number): [number[], number[]] {
  const v = Math.round(pool.length * fraction);
  return [pool.slice(v), pool.slice(0, v)];
}

function splitByWriter(pool: number[], ds: Dataset, fraction: number, random: () => number): [number[], number[]] {
  if (!ds.writers) throw new UserInputError('subset: writer_disjoint needs writer ids, and this dataset has none');
  const byWriter = new Map<number, number[]>();
  for (const i of pool) {
    const writer = ds.writers[i]!; // writers has one id per sample
    const group = byWriter.get(writer);
    if (group) group.push(i);
    else byWriter.set(writer, [i]);
  }
  const writers = shuffle([...byWriter.keys()].sort((a, b) => a - b), random);
  const target = pool.length * fraction;
  const validation: number[] = [];
  const train: number[] = [];
  for (const w of writers) (validation.length < target ? validation : train).push(...byWriter.get(w)!);
  return [train, validation];
}
