/**
 * The line model artifact: a tfjs model folder (model.json, weights.bin) or a
 * Keras .h5 folder, with `line-model.json` beside it: the input height, the
 * columns per output frame and the charset. The sidecar is what tells a line
 * model from a letter model, and keeps the alphabet with the weights.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from '../ml/tf.js';
import { saveModel } from '../ml/model-io.js';
import { loadModelFrom } from '../ml/model-source.js';
import { UserInputError } from '../errors.js';
import { CHARSET_FORMAT, classCount, type Charset } from './charset.js';
import { ruleErasureOf, type RuleErasureMeta } from './line-rules.js';

export const LINE_MODEL_FILE = 'line-model.json';
export const LINE_MODEL_FORMAT = 1;

/** `erase_rules`, `rule_erasure`: how rules were erased from the lines it was trained on, so reading erases them the same way. */
export interface LineModelMeta extends RuleErasureMeta {
  format: number;
  kind: 'ctc-line';
  /** Input height in pixels; widths are free. */
  height: number;
  /** Input columns per output frame. */
  stride: number;
  /** Output class 0 is the CTC blank; class i is charset.characters[i - 1]. */
  charset: Charset;
}

export async function saveLineModel(tf: Tf, model: LayersModel, meta: LineModelMeta, dir: string): Promise<void> {
  await saveModel(tf, model, dir);
  await writeFile(join(dir, LINE_MODEL_FILE), JSON.stringify(meta, null, 1) + '\n');
}

export function isLineModel(dir: string): boolean {
  return existsSync(join(dir, LINE_MODEL_FILE));
}

/** Copies the sidecar to another model folder (e.g. next to an exported .h5). */
export async function copyLineModelMeta(from: string, to: string): Promise<void> {
  if (isLineModel(from)) await copyFile(join(from, LINE_MODEL_FILE), join(to, LINE_MODEL_FILE));
}

export async function readLineModelMeta(dir: string): Promise<LineModelMeta> {
  const file = join(dir, LINE_MODEL_FILE);
  let meta: LineModelMeta;
  try {
    meta = JSON.parse(await readFile(file, 'utf8')) as LineModelMeta;
  } catch (err) {
    throw new UserInputError(`${file}: not a line model description (${(err as Error).message}); use a model from build-line-model or train-lines`);
  }
  if (meta.format !== LINE_MODEL_FORMAT || meta.kind !== 'ctc-line' || meta.charset?.format !== CHARSET_FORMAT) {
    throw new UserInputError(`${file}: unsupported line model description (format ${meta.format}); rebuild the model with this inkflow`);
  }
  ruleErasureOf(meta, file);
  return meta;
}

export async function loadLineModel(tf: Tf, dir: string): Promise<{ model: LayersModel; meta: LineModelMeta }> {
  const meta = await readLineModelMeta(dir);
  const model = await loadModelFrom(tf, dir);
  const classes = model.outputs[0]!.shape[3];
  if (classes !== classCount(meta.charset)) throw new UserInputError(`${dir}: the model predicts ${classes} classes but its charset has ${meta.charset.characters.length} characters + blank; the folder mixes two models`);
  return { model, meta };
}
