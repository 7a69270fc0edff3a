/** Moving dataset samples into tensors, and running a model over a whole dataset. */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { sampleSize, type Dataset } from '../data/dataset.js';
import type { Tf } from './tf.js';

/** Float32 model inputs for the samples at `indices` (stored pixels × scale). */
export function gatherImages(ds: Dataset, indices: ArrayLike<number>): Float32Array {
  const size = sampleSize(ds.meta);
  const out = new Float32Array(indices.length * size);
  const scale = ds.meta.scale;
  // Indices name samples of ds, so src + j stays inside its images.
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i]! * size;
    const dst = i * size;
    for (let j = 0; j < size; j++) out[dst + j] = ds.images[src + j]! * scale;
  }
  return out;
}

export function oneHot(labels: ArrayLike<number>, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) out[i * classes + labels[i]!] = 1;
  return out;
}

export function range(start: number, end: number): Int32Array {
  return Int32Array.from({ length: end - start }, (_, i) => start + i);
}

/** Class probabilities for every sample, N×K, in batches. */
export async function predictAll(tf: Tf, model: LayersModel, ds: Dataset, batchSize = 1024, onProgress?: (done: number) => void): Promise<Float32Array> {
  const n = ds.meta.count;
  const classes = model.outputs[0]?.shape[1] ?? ds.meta.classes.length;
  const out = new Float32Array(n * classes);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const x = tf.tensor(gatherImages(ds, range(start, end)), [end - start, ...ds.meta.sampleShape]);
    const y = model.predict(x) as Tensor;
    out.set(await y.data() as Float32Array, start * classes);
    x.dispose();
    y.dispose();
    onProgress?.(end);
  }
  return out;
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k; // best < k < row.length
  return best;
}

export function samplesByClass(labels: ArrayLike<number>, classes: number): Int32Array[] {
  const lists: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const list = lists[labels[i]!];
    if (!list) throw new RangeError(`label ${labels[i]} of sample ${i} is not one of the ${classes} classes`);
    list.push(i);
  }
  return lists.filter((l) => l.length).map((l) => Int32Array.from(l));
}

/** Fills `order` with draws of a uniformly random class, then a uniformly random sample of it. */
export function balancedDraw(order: Int32Array, byClass: Int32Array[], random: () => number): void {
  for (let i = 0; i < order.length; i++) {
    const members = byClass[Math.floor(random() * byClass.length)];
    if (!members) throw new RangeError('balancedDraw: there are no classes to draw from');
    order[i] = members[Math.floor(random() * members.length)]!; // samplesByClass keeps only non-empty lists
  }
}
