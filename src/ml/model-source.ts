/**
 * The one place that decides where a model is: a Keras .h5 file, a tfjs folder
 * (model.json + weights), or a stage output that holds one of those (train.model,
 * save-hdf5.keras, or a folder with model/, tfjs/ or keras/ inside).
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';
import { loadModel } from './model-io.js';
import { UserInputError } from '../errors.js';

export type ModelLocation = { format: 'tfjs'; dir: string } | { format: 'keras'; file: string };

const KERAS_FILE = /\.(h5|hdf5|keras)$/;
const MODEL_SUBFOLDERS = ['model', 'tfjs', 'keras'];

export async function findModel(path: string): Promise<ModelLocation> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UserInputError(`${path}: model not found`);
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
  if (location.format === 'tfjs') return loadModel(tf, location.dir);
  return (await import('./keras-h5.js')).loadKerasH5(tf, location.file);
}

/** The number of classes a classifier predicts (its output's last dimension). */
export function outputClasses(model: LayersModel): number {
  const shape = model.outputs[0]?.shape;
  const classes = shape?.[shape.length - 1];
  if (typeof classes !== 'number') throw new UserInputError(`model "${model.name}" has no fixed output size; expected a classifier ending in a dense softmax layer`);
  return classes;
}
