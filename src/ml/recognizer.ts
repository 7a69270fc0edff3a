/** A trained letter model plus its class names, applied to real image crops preprocessed like training data. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { frameGlyph, inkImage, type GrayImage } from '../data/framing.js';
import { decodeGray } from '../data/loaders.js';
import { loadModelFrom } from './model-source.js';
import { loadTf, type Tf } from './tf.js';
import { resolveBackendName } from './backend-name.js';
import { StageInputError } from '../engine/stage-api.js';

export interface Prediction {
  letter: string;
  confidence: number;
  top: { letter: string; probability: number }[];
}

export class Recognizer {
  private constructor(readonly tf: Tf, readonly model: LayersModel, readonly classes: string[]) {}

  static async open(modelPath: string, labelsPath?: string): Promise<Recognizer> {
    const tf = await loadTf(resolveBackendName('auto'));
    const model = await loadModelFrom(tf, await findModel(modelPath));
    const k = model.outputs[0].shape[1] as number;
    const classes = labelsPath
      ? Object.values(JSON.parse(await readFile(labelsPath, 'utf8')) as Record<string, string>)
      : k === 26 ? [...'abcdefghijklmnopqrstuvwxyz'] : Array.from({ length: k }, (_, i) => String(i));
    if (classes.length !== k) throw new StageInputError(`${labelsPath}: ${classes.length} labels for a model with ${k} outputs`);
    return new Recognizer(tf, model, classes);
  }

  /** Grayscale glyph (any polarity, any size) → 28x28 input exactly as the training data was framed. */
  static prepare(img: GrayImage, size = 28): Float32Array {
    return Recognizer.prepareInk(inkImage(img, 'auto'), size);
  }

  /**
   * Ink that is already light on dark with the paper at 0 (a crop of a segmented
   * phrase) → 28x28 input. Normalizing such a tight crop again would take its
   * median pixel, often ink, for paper and erase strokes (85.9 % vs 92.5 % letter
   * accuracy on phrase crops).
   */
  static prepareInk(ink: GrayImage, size = 28): Float32Array {
    return Float32Array.from(frameGlyph(ink, size), (v) => v / 255);
  }

  predictPrepared(inputs: Float32Array[], topK = 3): Prediction[] {
    if (!inputs.length) return [];
    const side = Math.round(Math.sqrt(inputs[0].length));
    const batch = new Float32Array(inputs.length * inputs[0].length);
    inputs.forEach((x, i) => batch.set(x, i * x.length));
    const probs = this.tf.tidy(() => (this.model.predict(this.tf.tensor4d(batch, [inputs.length, side, side, 1])) as Tensor).dataSync() as Float32Array);
    const k = this.classes.length;
    return inputs.map((_, i) => {
      const row = Array.from(probs.subarray(i * k, (i + 1) * k)).map((p, c) => ({ letter: this.classes[c], probability: p }));
      row.sort((a, b) => b.probability - a.probability);
      return { letter: row[0].letter, confidence: row[0].probability, top: row.slice(0, topK) };
    });
  }
}

/** Accepts a model file, a tfjs folder, or a stage output folder (train, save-hdf5) holding one. */
export async function findModel(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new StageInputError(`${path}: model not found`);
  if (!info.isDirectory()) return path;
  const entries = await readdir(path);
  if (entries.includes('model.json') || entries.some((e) => e.endsWith('.h5'))) return path;
  for (const sub of ['model', 'tfjs', 'keras']) if (entries.includes(sub)) return join(path, sub);
  throw new StageInputError(`${path}: no model here (looked for model.json, *.h5, model/, tfjs/, keras/)`);
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/** Image files named directly or found (recursively, sorted) in named folders. */
export async function collectImages(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (!info) throw new StageInputError(`${p}: no such file or folder`);
    if (info.isDirectory()) {
      const entries = (await readdir(p, { recursive: true })).map(String).sort();
      out.push(...entries.filter((e) => IMAGE_EXTENSIONS.includes(extname(e).toLowerCase())).map((e) => join(p, e)));
    } else out.push(p);
  }
  return out;
}

/** Decodes an image file to grayscale, with a clear error for anything that is not an image. */
export async function readGrayImage(file: string, maxPixels = 64e6): Promise<GrayImage> {
  const { loadImage } = await import('@napi-rs/canvas');
  const bytes = await readFile(file);
  if (!bytes.length) throw new StageInputError(`${file}: empty file, not an image`);
  // Refuse huge images before decoding them: a 20,000² PNG would need 1.6 GB as RGBA.
  const size = imageDimensions(bytes);
  if (size && size.width * size.height > maxPixels) {
    throw new StageInputError(`${file}: ${size.width}x${size.height} is too large (over ${maxPixels / 1e6} megapixels); scale it down first`);
  }
  let image;
  try {
    image = await loadImage(bytes);
  } catch (err) {
    throw new StageInputError(`${file}: not a decodable image (${(err as Error).message})`);
  }
  if (image.width * image.height > maxPixels) {
    throw new StageInputError(`${file}: ${image.width}x${image.height} is too large (over ${maxPixels / 1e6} megapixels); scale it down first`);
  }
  return decodeGray(image);
}

/** Width and height from a PNG or JPEG header, without decoding the pixels. */
export function imageDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 24 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    let i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) return undefined;
      const marker = bytes[i + 1];
      const length = view.getUint16(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: view.getUint16(i + 5), width: view.getUint16(i + 7) };
      }
      i += 2 + length;
    }
  }
  return undefined;
}
