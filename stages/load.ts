/** Loads handwriting data from .npz/.npy, EMNIST IDX, Kaggle CSV or image folders into a dataset artifact. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { displayPath } from '../src/util/paths.js';
import { AutoOrBoolean, defineStage, StrictObject, StringEnum, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { selectSamples, writeDataset, type Dataset } from '../src/data/dataset.js';
import { loadCsv, loadIdx, loadImageFolder, loadNpy, loadNpz, type RawData } from '../src/data/loaders.js';
import { download, isUrl } from '../src/data/download.js';
import { checkPixelRange } from '../src/data/input-safety.js';

const FORMATS = ['auto', 'npz', 'npy', 'idx', 'csv', 'images'] as const;
type Format = (typeof FORMATS)[number];
const sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$' });

const loadParams = StrictObject({
  path: Type.String({ minLength: 1, description: 'file, folder, or http(s) URL' }),
  format: StringEnum(FORMATS, { default: 'auto' }),
  labels_path: Type.Optional(Type.String({ description: 'labels file for npy and idx formats' })),
  images_key: Type.String({ default: 'images' }),
  labels_key: Type.String({ default: 'labels' }),
  writers_key: Type.String({ default: 'writers' }),
  classes: Type.Optional(Type.Unsafe<string | string[]>({ oneOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string' }, minItems: 1 }] })),
  label_offset: Type.Integer({ default: 0 }),
  labels_are_ascii: Type.Boolean({ default: false }),
  case_merge: Type.Boolean({ default: false }),
  include: Type.Optional(Type.String({ description: 'regular expression a class name must match' })),
  transpose: AutoOrBoolean(),
  size: Type.Integer({ minimum: 8, maximum: 256, default: 28 }),
  invert: AutoOrBoolean(),
  sha256: Type.Optional(sha256Hex),
  labels_sha256: Type.Optional(sha256Hex),
});

export default defineStage<Static<typeof loadParams>>({
  description: 'load images and labels from npz/npy, IDX, CSV or image folders',
  version: 1,
  paramsSchema: loadParams,
  inputs: {},
  outputs: ['dataset'],
  fileParams: (p) => [p.path, p.labels_path].filter((f): f is string => !!f && !isUrl(f)),
  async run(ctx) {
    const p = ctx.params;
    const fetchIfUrl = async (path: string, sha256?: string) =>
      isUrl(path)
        ? download(path, { sha256, signal: ctx.signal, onProgress: (got, total) => ctx.progress.update(`downloading ${(got / 1e6).toFixed(1)}${total ? `/${(total / 1e6).toFixed(1)}` : ''} MB`) })
        : displayPath(resolve(ctx.workspace, path));
    const path = await fetchIfUrl(p.path, p.sha256);
    const labelsPath = p.labels_path ? await fetchIfUrl(p.labels_path, p.labels_sha256) : undefined;
    const format = p.format === 'auto' ? await detectFormat(path) : p.format;
    ctx.progress.update(`reading ${format} ${p.path}`);
    const include = p.include ? new RegExp(p.include) : undefined;
    let raw: RawData;
    switch (format) {
      case 'npz':
        raw = await loadNpz(path, { images: p.images_key, labels: p.labels_key, writers: p.writers_key });
        break;
      case 'npy':
      case 'idx':
        if (!labelsPath) throw new UserInputError(`load: format ${format} needs labels_path (the labels file beside ${p.path})`);
        raw = format === 'npy' ? await loadNpy(path, labelsPath) : await loadIdx(path, labelsPath);
        break;
      case 'csv':
        raw = await loadCsv(path);
        raw.columnMajor = /emnist/i.test(path);
        break;
      case 'images':
        raw = await loadImageFolder(path, { size: p.size, include, invert: p.invert, onProgress: (i, n) => ctx.progress.update(`decoding image ${i}/${n}`) });
        break;
    }
    const dataset = toDataset(raw, p, path, include);
    ctx.log.info(`${dataset.meta.count} images ${dataset.meta.sampleShape.join('x')}, ${dataset.meta.classes.length} classes${dataset.writers ? ', with writer ids' : ''}${Object.keys(dataset.masks).length ? `, masks: ${Object.keys(dataset.masks).join(', ')}` : ''}`);
    ctx.recordMetrics({ images: dataset.meta.count, classes: dataset.meta.classes.length });
    await writeDataset(ctx.output('dataset'), dataset);
  },
});

async function detectFormat(path: string): Promise<Exclude<Format, 'auto'>> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UserInputError(`${path}: not found (check the path, or the data_dir param)`);
  if (info.isDirectory()) return 'images';
  if (!info.isFile()) throw new UserInputError(`${path}: not a regular file (a device, pipe or socket); point the path at a data file`);
  const lower = path.toLowerCase().replace(/\.gz$/, '');
  if (lower.endsWith('.npz')) return 'npz';
  if (lower.endsWith('.npy')) return 'npy';
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.includes('idx') || lower.endsWith('-ubyte')) return 'idx';
  throw new UserInputError(`${path}: cannot tell the format from the name; set format: npz, npy, idx, csv or images`);
}

function toDataset(raw: RawData, p: Static<typeof loadParams>, where: string, include?: RegExp): Dataset {
  const n = raw.labels.length;
  const size = raw.height * raw.width;
  if (raw.images.length !== n * size) throw new UserInputError(`${where}: ${raw.images.length / size} images but ${n} labels`);
  if (raw.images instanceof Float32Array) checkPixelRange(raw.images, size, where);
  if (raw.writers && raw.writers.length !== n) throw new UserInputError(`${where}: ${raw.writers.length} writer ids for ${n} images`);
  const transpose = p.transpose === 'auto' ? !!raw.columnMajor : p.transpose;
  const images = transpose ? transposeImages(raw.images, n, raw.height, raw.width) : raw.images;

  let names: string[];
  if (Array.isArray(raw.labels) || p.labels_are_ascii) {
    names = Array.isArray(raw.labels) ? raw.labels : Array.from(raw.labels, (c) => String.fromCharCode(c));
  } else {
    const given = typeof p.classes === 'string' ? [...p.classes] : p.classes;
    names = Array.from(raw.labels, (v) => {
      const id = v + p.label_offset;
      if (given) {
        const name = given[id];
        if (name === undefined) throw new UserInputError(`${where}: label ${v} (+ offset ${p.label_offset}) is out of range for ${given.length} classes`);
        return name;
      }
      if (id < 0) throw new UserInputError(`${where}: label ${v} (+ offset ${p.label_offset}) is negative`);
      return String(id);
    });
  }
  if (p.case_merge) names = names.map((s) => s.toLowerCase());
  const keep = include ? names.map((s) => include.test(s)) : undefined;
  const classes = typeof p.classes === 'string' ? [...p.classes] : p.classes ?? [...new Set(names)].sort(numericAware);
  const index = new Map(classes.map((c, i) => [c, i]));
  const chosen: number[] = [];
  for (let i = 0; i < n; i++) if (!keep || keep[i]) chosen.push(i);
  if (!chosen.length) throw new UserInputError(`${where}: no samples${include ? ` with a class matching ${include}` : ''}`);
  // Samples left out by `include` keep label -1: only chosen ones must name a class.
  const labels = new Int32Array(n).fill(-1);
  for (const j of chosen) {
    const name = names[j]!; // chosen holds sample indices, and names has one per sample
    const id = index.get(name);
    if (id === undefined) throw new UserInputError(`${where}: sample ${j} has class "${name}", which is not among classes ${classes.join('')}`);
    labels[j] = id;
  }
  const all: Dataset = {
    images,
    labels,
    writers: raw.writers,
    masks: raw.masks,
    meta: { count: n, sampleShape: [raw.height, raw.width], classes, scale: 1, masks: [], hasWriters: !!raw.writers, source: where },
  };
  return chosen.length === n ? all : selectSamples(all, chosen);
}

function numericAware(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function transposeImages<T extends Uint8Array | Float32Array>(images: T, n: number, h: number, w: number): T {
  const out = new (images.constructor as new (n: number) => T)(images.length);
  for (let k = 0; k < n; k++) {
    const base = k * h * w;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[base + y * w + x] = images[base + x * h + y]!; // x·h + y < h·w
  }
  return out;
}
