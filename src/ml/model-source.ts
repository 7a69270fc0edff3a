/** A model input may be a tfjs folder (model.json) or a Keras .h5 file/folder; this loads either, with one-line errors naming the file. */
import { open, stat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';
import { loadModel } from './model-io.js';
import { StageInputError } from '../engine/stage-api.js';

export async function loadModelFrom(tf: Tf, path: string): Promise<LayersModel> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new StageInputError(`${path}: model not found`);
  if (info.isDirectory()) {
    const files = await readdir(path);
    if (files.includes('model.json')) return loadTfjs(tf, path);
    const h5 = files.find((f) => f.endsWith('.h5') || f.endsWith('.keras'));
    if (h5) return loadH5(tf, join(path, h5));
    throw new StageInputError(`${path}: no model.json or .h5 model in this folder`);
  }
  if (path.endsWith('.h5') || path.endsWith('.hdf5')) return loadH5(tf, path);
  if (path.endsWith('model.json')) return loadTfjs(tf, join(path, '..'));
  throw new StageInputError(`${path}: not a model (expected a tfjs folder with model.json, or a Keras .h5 file)`);
}

async function loadTfjs(tf: Tf, dir: string): Promise<LayersModel> {
  try {
    return await loadModel(tf, dir);
  } catch (err) {
    if (err instanceof StageInputError) throw err;
    throw new StageInputError(`${join(dir, 'model.json')}: cannot load this tfjs model: ${firstLine(err)}; save or convert the model again`);
  }
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** HDF5 files start with a signature at byte 0, 512, 1024, 2048, ...: checked before the HDF5 library sees the file (it prints pages of diagnostics on garbage). */
async function hasHdf5Signature(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    for (let offset = 0; offset + 8 <= size; offset = offset ? offset * 2 : 512) {
      const buf = new Uint8Array(8);
      await handle.read(buf, 0, 8, offset);
      if (HDF5_SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    await handle.close();
  }
}

async function loadH5(tf: Tf, path: string): Promise<LayersModel> {
  if (!(await stat(path)).isFile()) throw new StageInputError(`${path}: not a regular file`);
  if (!(await hasHdf5Signature(path))) throw new StageInputError(`${path}: not an HDF5 file (no HDF5 signature); is this a Keras model saved with model.save("….h5")?`);
  try {
    return await quietly(async () => (await import('./keras-h5.js')).loadKerasH5(tf, path));
  } catch (err) {
    if (err instanceof StageInputError) throw err;
    throw new StageInputError(`${path}: cannot load this Keras model: ${firstLine(err)}; save it again with model.save("….h5")`);
  }
}

/** The HDF5 library reports a damaged file on the console line by line; the error we throw says it once. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { warn: console.warn, error: console.error, log: console.log };
  console.warn = console.error = console.log = () => undefined;
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
