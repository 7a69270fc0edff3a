/**
 * Small random affine distortions of 2-D glyphs (shift, rotation, scale) with
 * bilinear sampling: the variation between hands the training data lacks.
 */
import { sampleBilinear } from '../data/framing.js';
export interface AugmentOptions {
  /** Maximum shift as a fraction of the image side. */
  shift: number;
  /** Maximum rotation in degrees. */
  rotate: number;
  /** Maximum relative change of size. */
  scale: number;
}

export function augmentBatch(batch: Float32Array, count: number, h: number, w: number, options: AugmentOptions, random: () => number): Float32Array {
  const out = new Float32Array(batch.length);
  const size = h * w;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  for (let k = 0; k < count; k++) {
    const angle = ((random() * 2 - 1) * options.rotate * Math.PI) / 180;
    const s = 1 + (random() * 2 - 1) * options.scale;
    const dx = (random() * 2 - 1) * options.shift * w;
    const dy = (random() * 2 - 1) * options.shift * h;
    // Inverse map: output pixel → source position.
    const cos = Math.cos(angle) / s;
    const sin = Math.sin(angle) / s;
    const src = batch.subarray(k * size, (k + 1) * size);
    const dst = out.subarray(k * size, (k + 1) * size);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const ux = x - cx - dx;
        const uy = y - cy - dy;
        const sx = cos * ux + sin * uy + cx;
        const sy = -sin * ux + cos * uy + cy;
        dst[y * w + x] = sampleBilinear(src, w, h, sx, sy);
      }
    }
  }
  return out;
}
