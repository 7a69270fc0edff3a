/**
 * The one place that decides where a model is: a Keras .h5 file, a tfjs folder
 * (model.json + weights), or a stage output that holds one of those (train.model,
 * save-hdf5.keras, or a folder with model/, tfjs/ or keras/ inside).
 */
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';
import { loadModel } from './model-io.js';
import { UserInputError } from '../errors.js';
import { firstLine } from '../util/text.js';

export type ModelLocation = { format: 'tfjs'; dir: string } | { format: 'keras'; file: string };

const KERAS_FILE = /\.(h5|hdf5|keras)$/;
const MODEL_SUBFOLDERS = ['model', 'tfjs', 'keras'];

export async function findModel(path: string): Promise<ModelLocation> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UserInputError(`${path}: model not found; give a tfjs folder (model.json), a Keras .h5 file, or a stage output such as artifacts/<pipeline>/save-hdf5`);
  if (!info.isDirectory()) {
    if (KERAS_FILE.test(path)) return { format: 'keras', file: path };
    if (basename(path) === 'model.json') return { format: 'tfjs', dir: dirname(path) };
    throw new UserInputError(`${path}: not a model (expected a tfjs folder with model.json, or a Keras .h5 file)`);
  }
  const entries = (await readdir(path)).sort();
  if (entries.includes('model.json')) return { format: 'tfjs', dir: path };
  const keras = entries.find((e) => KERAS_FILE.test(e));
  if (keras) return { format: 'keras', file: join(path, keras) };
  const sub = MODEL_SUBFOLDERS.find((s) => entries.includes(s));
  if (sub) return findModel(join(path, sub));
  // A promoted model, models/<name>: its `current` version.
  if (entries.includes('current')) return findModel(join(path, 'current'));
  throw new UserInputError(`${path}: no model here (looked for model.json, *.h5, and ${MODEL_SUBFOLDERS.map((s) => `${s}/`).join(', ')})`);
}

/** The folder holding the model (where sidecar files such as line-model.json sit). */
export function modelFolder(location: ModelLocation): string {
  return location.format === 'tfjs' ? location.dir : dirname(location.file);
}

export async function loadModelFrom(tf: Tf, path: string): Promise<LayersModel> {
  const location = await findModel(path);
  return location.format === 'tfjs' ? loadTfjs(tf, location.dir) : loadH5(tf, location.file);
}

/** The number of classes a classifier predicts (its output's last dimension). */
export function outputClasses(model: LayersModel): number {
  const shape = model.outputs[0]?.shape;
  const classes = shape?.[shape.length - 1];
  if (typeof classes !== 'number') throw new UserInputError(`model "${model.name}" has no fixed output size; expected a classifier ending in a dense softmax layer`);
  return classes;
}

async function loadTfjs(tf: Tf, dir: string): Promise<LayersModel> {
  try {
    return await loadModel(tf, dir);
  } catch (err) {
    if (err instanceof UserInputError) throw err;
    throw new UserInputError(`${join(dir, 'model.json')}: cannot load this tfjs model: ${firstLineOf(err)}; save or convert the model again`);
  }
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * HDF5 files start with a signature at byte 0, 512, 1024, 2048, ..., and the
 * superblock after it records where the file ends. Both are checked before the
 * HDF5 library sees the file: it prints pages of diagnostics on garbage or a
 * truncated file. Returns a problem, or undefined when the file looks whole.
 */
async function hdf5Problem(path: string): Promise<string | undefined> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    for (let offset = 0; offset + 8 <= size; offset = offset ? offset * 2 : 512) {
      const head = new Uint8Array(96);
      await handle.read(head, 0, head.length, offset);
      if (!HDF5_SIGNATURE.every((b, i) => head[i] === b)) continue;
      const end = storedEndOfFile(new DataView(head.buffer));
      if (end !== undefined && offset + end > size) return `truncated: the file is ${size} bytes, its HDF5 header says ${offset + end}; copy or download it again`;
      return undefined;
    }
    return 'not an HDF5 file (no HDF5 signature); is this a Keras model saved with model.save("….h5")?';
  } finally {
    await handle.close();
  }
}

/** The end-of-file address a superblock (versions 0 to 3) records, relative to its base. */
function storedEndOfFile(view: DataView): number | undefined {
  const version = view.getUint8(8);
  const read = (at: number, bytes: number) => (bytes === 8 ? Number(view.getBigUint64(at, true)) : bytes === 4 ? view.getUint32(at, true) : undefined);
  if (version === 0 || version === 1) {
    const offsets = view.getUint8(13);
    const start = version === 0 ? 24 : 28;
    return read(start + 2 * offsets, offsets);
  }
  if (version === 2 || version === 3) {
    const offsets = view.getUint8(9);
    return read(12 + 2 * offsets, offsets);
  }
  return undefined;
}

async function loadH5(tf: Tf, path: string): Promise<LayersModel> {
  if (!(await stat(path)).isFile()) throw new UserInputError(`${path}: not a regular file`);
  const problem = await hdf5Problem(path);
  if (problem) throw new UserInputError(`${path}: ${problem}`);
  try {
    return await quietly(async () => (await import('./keras-h5.js')).loadKerasH5(tf, path));
  } catch (err) {
    if (err instanceof UserInputError) throw err;
    throw new UserInputError(`${path}: cannot load this Keras model: ${firstLineOf(err)}; save it again with model.save("….h5")`);
  }
}

/**
 * The HDF5 library reports a damaged file on stderr line by line (through a
 * console.error it bound when it loaded); the error we throw says it once.
 */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await fn();
  } finally {
    process.stderr.write = write;
  }
}

function firstLineOf(err: unknown): string {
  return firstLine(String((err as Error)?.message ?? err));
}
