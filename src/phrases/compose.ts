/**
 * Composes a handwritten phrase image from single-letter images of one writer:
 * each letter cropped to its ink, scaled with a little size jitter, placed on a
 * jittered baseline with letter spacing (negative spacing overlaps letters) and
 * wider word gaps; drawn dark on light paper like a scan.
 */
import type { Box } from '../data/framing.js';
import { inkBox, sampleBilinear } from '../data/framing.js';
import { imageSize, sampleSize, type Dataset } from '../data/dataset.js';

export interface ComposeOptions {
  height: number;
  /** Letter scale relative to the source images. */
  scale: number;
  sizeJitter: number;
  baselineJitter: number;
  /** Gap between letters as a fraction of letter width; negative overlaps. */
  spacing: [number, number];
  wordGap: [number, number];
}

export interface Phrase {
  width: number;
  height: number;
  /** Dark ink on white, 0..255. */
  pixels: Uint8ClampedArray;
  boxes: Box[];
}

/** Indices of each class's samples for each writer, to draw one hand per phrase. */
export class LetterIndex {
  readonly byWriter = new Map<number, Map<number, number[]>>();
  readonly byClass = new Map<number, number[]>();

  constructor(readonly ds: Dataset) {
    // labels (and writers) hold one entry per sample.
    for (let i = 0; i < ds.meta.count; i++) {
      const w = ds.writers ? ds.writers[i]! : 0;
      const c = ds.labels[i]!;
      let classes = this.byWriter.get(w);
      if (!classes) this.byWriter.set(w, (classes = new Map()));
      (classes.get(c) ?? classes.set(c, []).get(c)!).push(i);
      (this.byClass.get(c) ?? this.byClass.set(c, []).get(c)!).push(i);
    }
  }

  pick(writer: number, cls: number, random: () => number): number | undefined {
    const own = this.byWriter.get(writer)?.get(cls);
    const pool = own?.length ? own : this.byClass.get(cls);
    return pool?.length ? pool[Math.floor(random() * pool.length)] : undefined;
  }
}

export function composePhrase(text: string, writer: number, index: LetterIndex, classes: string[], options: ComposeOptions, random: () => number): Phrase {
  const ds = index.ds;
  const { height: sh, width: sw } = imageSize(ds.meta, 'the letter dataset');
  const size = sampleSize(ds.meta);
  // 8-bit pixels are intensities already; float data is in [0, 1].
  const toValue = ds.images instanceof Uint8Array ? 1 : 255;
  const glyphs: { sample: number; box: Box; scale: number; gapBefore: number; dy: number }[] = [];
  let wordGap = false;
  for (const ch of text) {
    if (ch === ' ') {
      wordGap = true;
      continue;
    }
    const cls = classes.indexOf(ch);
    if (cls < 0) throw new Error(`no letter class for "${ch}"`);
    const sample = index.pick(writer, cls, random);
    if (sample === undefined) throw new Error(`no samples of "${ch}"`);
    const img = { width: sw, height: sh, data: ds.images.subarray(sample * size, (sample + 1) * size) };
    const box = inkBox(img, 0.25) ?? { x0: 0, y0: 0, x1: sw, y1: sh };
    const scale = options.scale * (1 + (random() * 2 - 1) * options.sizeJitter);
    const letterWidth = (box.x1 - box.x0) * scale;
    const range = wordGap ? options.wordGap : options.spacing;
    const gap = (range[0] + random() * (range[1] - range[0])) * (wordGap ? options.scale * sh * 0.5 : letterWidth);
    glyphs.push({ sample, box, scale, gapBefore: glyphs.length ? gap : 0, dy: (random() * 2 - 1) * options.baselineJitter * options.height });
    wordGap = false;
  }
  const margin = Math.round(options.height * 0.25);
  let x = margin;
  const placed = glyphs.map((g) => {
    x += g.gapBefore;
    const w = Math.max(1, Math.round((g.box.x1 - g.box.x0) * g.scale));
    const h = Math.max(1, Math.round((g.box.y1 - g.box.y0) * g.scale));
    const x0 = Math.round(x);
    x += w;
    const y0 = Math.round((options.height - h) / 2 + g.dy);
    return { ...g, x0, y0, w, h };
  });
  const width = Math.max(Math.round(x) + margin, 1);
  const height = options.height;
  const ink = new Float32Array(width * height);
  const boxes: Box[] = [];
  for (const g of placed) {
    for (let y = 0; y < g.h; y++) {
      for (let xx = 0; xx < g.w; xx++) {
        const tx = g.x0 + xx, ty = g.y0 + y;
        if (tx < 0 || ty < 0 || tx >= width || ty >= height) continue;
        // Bilinear sample of the source letter.
        const sx = g.box.x0 + (xx + 0.5) / g.scale - 0.5;
        const sy = g.box.y0 + (y + 0.5) / g.scale - 0.5;
        const v = sampleBilinear(ds.images, sw, sh, sx, sy, g.sample * size) * toValue;
        // Overlapping strokes: the darker ink wins, as with pen on paper.
        if (v > ink[ty * width + tx]!) ink[ty * width + tx] = v; // tx < width, ty < height
      }
    }
    boxes.push({ x0: Math.max(0, g.x0), y0: Math.max(0, g.y0), x1: Math.min(width, g.x0 + g.w), y1: Math.min(height, g.y0 + g.h) });
  }
  const pixels = new Uint8ClampedArray(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = 255 - ink[i]!;
  return { width, height, pixels, boxes };
}
