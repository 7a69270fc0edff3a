/**
 * Line augmentation, one inverse warp per line: slant (shear), a baseline
 * wave, smooth horizontal elastic stretching, a width scale, and a stroke
 * width change (grey dilation or erosion). Seeded, so a run is reproducible.
 */
import { sampleBilinear } from '../data/framing.js';
import type { LineImage } from './line-image.js';

export interface LineAugmentOptions {
  /** Maximum shear, as horizontal pixels per pixel of height (0.3 ≈ 17°). */
  slant: number;
  /** Maximum baseline wave amplitude, as a fraction of the height. */
  baseline: number;
  /** Maximum local horizontal displacement, as a fraction of the height. */
  elastic: number;
  /** Maximum relative change of the width (0.15: ×0.85 .. ×1.15). */
  stretch: number;
  /** Probability of thickening or thinning the strokes. */
  stroke: number;
}

export const DEFAULT_LINE_AUGMENT: LineAugmentOptions = { slant: 0.3, baseline: 0.06, elastic: 0.05, stretch: 0.15, stroke: 0.3 };

export function augmentLine(image: LineImage, o: LineAugmentOptions, random: () => number): LineImage {
  const { width: w, height: h, data } = image;
  const shear = (random() * 2 - 1) * o.slant;
  const scale = 1 + (random() * 2 - 1) * o.stretch;
  const outW = Math.max(1, Math.round(w * scale + Math.abs(shear) * h));
  const waveAmp = random() * o.baseline * h;
  const wavePeriod = (0.5 + random()) * 4 * h;
  const wavePhase = random() * 2 * Math.PI;
  const elasticAmp = random() * o.elastic * h;
  const elasticPeriod = (0.5 + random()) * 1.5 * h;
  const elasticPhase = random() * 2 * Math.PI;
  const shiftX = shear < 0 ? -shear * h : 0;
  const out = new Uint8Array(outW * h);
  for (let x = 0; x < outW; x++) {
    const dy = waveAmp * Math.sin((2 * Math.PI * x) / wavePeriod + wavePhase);
    const dx = elasticAmp * Math.sin((2 * Math.PI * x) / elasticPeriod + elasticPhase);
    for (let y = 0; y < h; y++) {
      const sx = (x - shiftX - shear * (h - 1 - y)) / scale + dx;
      const sy = y - dy;
      out[y * outW + x] = Math.round(sampleBilinear(data, w, h, sx, sy));
    }
  }
  const warped = { width: outW, height: h, data: out };
  if (random() < o.stroke) return random() < 0.5 ? morph(warped, Math.max) : morph(warped, Math.min);
  return warped;
}

/** 3×3 grey dilation (max) or erosion (min) blended half-way, so strokes change by about a pixel. */
function morph(img: LineImage, pick: (...v: number[]) => number): LineImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = data[y * w + x]!;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx >= 0 && xx < w && (dx === 0 || dy === 0)) v = pick(v, data[yy * w + xx]!);
        }
      }
      out[y * w + x] = (v + data[y * w + x]!) >> 1;
    }
  }
  return { width: w, height: h, data: out };
}
