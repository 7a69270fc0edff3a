/**
 * The dataset artifact: a folder of .npy arrays plus meta.json. Pixels stay in
 * their compact stored type (uint8 for real images); `scale` says how to turn
 * stored values into model inputs, so normalizing does not quadruple disk use.
 */
import { copyFile, link, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeNpy, parseNpy, type NumericArray } from './npy.js';
import { UserInputError } from '../errors.js';

export interface DatasetMeta {
  count: number;
  /** Shape of one sample, e.g. [28, 28] or [28, 28, 1]. */
  sampleShape: number[];
  classes: string[];
  /** Model input = stored pixel × scale. */
  scale: number;
  /** 'light-on-dark' (ink bright, as EMNIST/NIST) once normalized. */
  polarity?: 'light-on-dark' | 'dark-on-light';
  framed?: boolean;
  masks: string[];
  hasWriters: boolean;
  source?: string;
}

export interface Dataset {
  images: Uint8Array | Float32Array;
  labels: Int32Array;
  writers?: Int32Array;
  /** Named boolean selections over the samples, e.g. `balanced800`. */
  masks: Record<string, Uint8Array>;
  meta: DatasetMeta;
}

export function sampleSize(meta: Pick<DatasetMeta, 'sampleShape'>): number {
  return meta.sampleShape.reduce((a, b) => a * b, 1);
}

/** Height and width of the samples, which must be images (at least two dimensions). */
export function imageSize(meta: Pick<DatasetMeta, 'sampleShape'>, where = 'dataset'): { height: number; width: number } {
  const [height, width] = meta.sampleShape;
  if (height === undefined || width === undefined) throw new UserInputError(`${where}: samples are ${meta.sampleShape.join('x') || 'scalars'}, not images; reshape them to height x width first`);
  return { height, width };
}

/** Every per-sample array must have one entry per sample: a malformed dataset is never written. */
export function checkDatasetShape(ds: Dataset): void {
  const n = ds.meta.count;
  const problems: string[] = [];
  if (ds.images.length !== n * sampleSize(ds.meta)) problems.push(`${ds.images.length} pixels for ${n} samples of ${ds.meta.sampleShape.join('x')}`);
  if (ds.labels.length !== n) problems.push(`${ds.labels.length} labels`);
  if (ds.writers && ds.writers.length !== n) problems.push(`${ds.writers.length} writer ids`);
  for (const [name, mask] of Object.entries(ds.masks)) if (mask.length !== n) problems.push(`mask ${name} has ${mask.length} entries`);
  if (problems.length) throw new Error(`dataset${ds.meta.source ? ` from ${ds.meta.source}` : ''} is malformed: ${problems.join(', ')} for ${n} samples`);
}

export async function writeDataset(dir: string, ds: Dataset, options: { linkImagesFrom?: string } = {}): Promise<void> {
  checkDatasetShape(ds);
  await mkdir(dir, { recursive: true });
  const n = ds.meta.count;
  if (options.linkImagesFrom) await linkOrCopy(join(options.linkImagesFrom, 'images.npy'), join(dir, 'images.npy'));
  else await writeFile(join(dir, 'images.npy'), encodeNpy(ds.images, [n, ...ds.meta.sampleShape]));
  await writeFile(join(dir, 'labels.npy'), encodeNpy(ds.labels, [n]));
  if (ds.writers) await writeFile(join(dir, 'writers.npy'), encodeNpy(ds.writers, [n]));
  for (const [name, mask] of Object.entries(ds.masks)) await writeFile(join(dir, `mask-${name}.npy`), encodeNpy(mask, [n], { bool: true }));
  const meta: DatasetMeta = { ...ds.meta, masks: Object.keys(ds.masks), hasWriters: !!ds.writers };
  await writeFile(join(dir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
}

/** Hard links keep an unchanged array at one copy on disk; both ends are immutable store objects. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

/** Only a dataset's meta.json: its shape and classes, without loading the arrays. */
export async function readDatasetMeta(dir: string): Promise<DatasetMeta> {
  return JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as DatasetMeta;
}

export async function readDataset(dir: string): Promise<Dataset> {
  const meta = await readDatasetMeta(dir);
  const load = async (file: string) => parseNpy(new Uint8Array(await readFile(join(dir, file))), join(dir, file)).data as NumericArray;
  const images = (await load('images.npy')) as Uint8Array | Float32Array;
  const labels = (await load('labels.npy')) as Int32Array;
  const writers = meta.hasWriters ? ((await load('writers.npy')) as Int32Array) : undefined;
  const masks: Record<string, Uint8Array> = {};
  for (const name of meta.masks) masks[name] = (await load(`mask-${name}.npy`)) as Uint8Array;
  return { images, labels, writers, masks, meta };
}

/** The samples at `indices`, as a new dataset (arrays copied). */
export function selectSamples(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const size = sampleSize(ds.meta);
  const n = indices.length;
  const images = new (ds.images.constructor as new (n: number) => Uint8Array | Float32Array)(n * size);
  const labels = new Int32Array(n);
  const writers = ds.writers ? new Int32Array(n) : undefined;
  const masks = Object.entries(ds.masks).map(([name, from]) => ({ name, from, to: new Uint8Array(n) }));
  for (let i = 0; i < n; i++) {
    const j = indices[i]!;
    if (!(j >= 0 && j < ds.meta.count)) throw new RangeError(`selectSamples: index ${j} is outside the dataset's ${ds.meta.count} samples`);
    images.set(ds.images.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = ds.labels[j]!;
    if (writers && ds.writers) writers[i] = ds.writers[j]!;
    for (const mask of masks) mask.to[i] = mask.from[j]!;
  }
  return { images, labels, writers, masks: Object.fromEntries(masks.map((m) => [m.name, m.to])), meta: { ...ds.meta, count: n } };
}


