/** A model input may be a tfjs folder (model.json) or a Keras .h5 file/folder; this loads either. */
import { stat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';
import { loadModel } from './model-io.js';
import { UserInputError } from '../errors.js';

export async function loadModelFrom(tf: Tf, path: string): Promise<LayersModel> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UserInputError(`${path}: model not found`);
  if (info.isDirectory()) {
    const files = await readdir(path);
    if (files.includes('model.json')) return loadModel(tf, path);
    const h5 = files.find((f) => f.endsWith('.h5') || f.endsWith('.keras'));
    if (h5) return (await import('./keras-h5.js')).loadKerasH5(tf, join(path, h5));
    throw new UserInputError(`${path}: no model.json or .h5 model in this folder`);
  }
  if (path.endsWith('.h5') || path.endsWith('.hdf5')) return (await import('./keras-h5.js')).loadKerasH5(tf, path);
  if (path.endsWith('model.json')) return loadModel(tf, join(path, '..'));
  throw new UserInputError(`${path}: not a model (expected a tfjs folder with model.json, or a Keras .h5 file)`);
}
