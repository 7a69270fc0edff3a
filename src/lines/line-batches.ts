/**
 * Batches of lines of similar width: sorting by width (with a little seeded
 * jitter, so batches differ between epochs) keeps padding, and so wasted
 * convolution work, small.
 */
import type { LineImage } from './line-image.js';

/** Index groups of about `batchSize` lines of similar width, in a shuffled order. */
export function widthBuckets(widths: ArrayLike<number>, batchSize: number, random: () => number, jitter = 0.1): number[][] {
  const order = Array.from({ length: widths.length }, (_, i) => i);
  const key = order.map((i) => widths[i]! * (1 + (random() - 0.5) * 2 * jitter));
  order.sort((a, b) => key[a]! - key[b]!);
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  for (let i = batches.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [batches[i], batches[j]] = [batches[j]!, batches[i]!];
  }
  return batches;
}

/** Output frames per padding step of a line being read: 8 frames, 32 px at the usual stride of 4. */
const READING_STEP_FRAMES = 8;

/**
 * The width a line is read at: its own, padded with paper to a whole number of
 * steps. Lines are batched only with lines of the same reading width, so no
 * line ever sees another's padding: a line reads the same alone as in any
 * batch, and past its end the network sees paper, as it did in training.
 */
export function readingWidth(width: number, stride: number): number {
  const step = READING_STEP_FRAMES * stride;
  return Math.max(1, Math.ceil(width / step)) * step;
}

/** Inference batches: lines of one reading width each, at most `maxLines` lines and `maxColumns` columns. */
export function inferenceBatches(readingWidths: ArrayLike<number>, maxLines: number, maxColumns: number): number[][] {
  const order = Array.from({ length: readingWidths.length }, (_, i) => i).sort((a, b) => readingWidths[a]! - readingWidths[b]!);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const i of order) {
    const width = readingWidths[i]!;
    const full = current.length >= maxLines || (current.length + 1) * width > maxColumns;
    if (current.length && (full || readingWidths[current[0]!] !== width)) {
      batches.push(current);
      current = [];
    }
    current.push(i);
  }
  if (current.length) batches.push(current);
  return batches;
}

export interface LineBatch {
  /** Pixels / 255, [B, H, W, 1], zero-padded on the right. */
  x: Float32Array;
  shape: [number, number, number, number];
  /** Valid output frames per line. */
  frames: number[];
}

/** The lines padded to `width` columns, or by default to the widest of them rounded up to whole frames (at least a few). */
export function assembleBatch(images: readonly LineImage[], stride: number, width?: number): LineBatch {
  const H = images[0]!.height;
  const widest = Math.max(...images.map((im) => im.width));
  // A whole number of frames, so pooling sees every column.
  const W = width ?? Math.max(4 * stride, Math.ceil(widest / stride) * stride);
  if (W < widest || W % stride) throw new Error(`assembleBatch: width ${W} must be a multiple of the stride ${stride} and hold the widest line (${widest} px)`);
  const x = new Float32Array(images.length * H * W);
  images.forEach((im, b) => {
    for (let y = 0; y < H; y++) {
      const row = b * H * W + y * W;
      for (let i = 0; i < im.width; i++) x[row + i] = im.data[y * im.width + i]! / 255;
    }
  });
  return { x, shape: [images.length, H, W, 1], frames: images.map((im) => Math.max(1, Math.ceil(im.width / stride))) };
}
