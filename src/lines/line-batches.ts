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

/** Inference batches: sorted by width, capped by a pixel budget so wide lines come in small batches. */
export function inferenceBatches(widths: ArrayLike<number>, maxLines: number, maxColumns: number): number[][] {
  const order = Array.from({ length: widths.length }, (_, i) => i).sort((a, b) => widths[a]! - widths[b]!);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const i of order) {
    // Lines are sorted, so the newest is the widest: the padded batch is current.length × widths[i].
    if (current.length && ((current.length + 1) * widths[i]! > maxColumns || current.length >= maxLines)) {
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

export function assembleBatch(images: readonly LineImage[], stride: number): LineBatch {
  const H = images[0]!.height;
  const widest = Math.max(...images.map((im) => im.width));
  // At least a few frames, and a whole number of them, so pooling sees every column.
  const W = Math.max(4 * stride, Math.ceil(widest / stride) * stride);
  const x = new Float32Array(images.length * H * W);
  images.forEach((im, b) => {
    for (let y = 0; y < H; y++) {
      const row = b * H * W + y * W;
      for (let i = 0; i < im.width; i++) x[row + i] = im.data[y * im.width + i]! / 255;
    }
  });
  return { x, shape: [images.length, H, W, 1], frames: images.map((im) => Math.max(1, Math.ceil(im.width / stride))) };
}
