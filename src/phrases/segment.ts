/**
 * Splits a phrase image into characters in reading order: grayscale → Otsu
 * binarization → connected components → attach i/j dots, drop specks → merge
 * fragments (broken strokes) → split touching letters at projection minima →
 * word gaps. Tuned on synthetic phrases of other seeds than the evaluation's.
 */
import { inkImage, type GrayImage, type Box } from '../data/framing.js';

export interface Segment {
  box: Box;
  /** True when a word gap precedes this character. */
  spaceBefore: boolean;
}

export interface Segmentation {
  segments: Segment[];
  /** Degrees the ink was sheared back by before segmenting; boxes refer to the deskewed ink. */
  skew: number;
  /** Light-on-dark ink image the boxes refer to. */
  ink: GrayImage;
  reason?: string;
}

export const MAX_PIXELS = 25e6;

export function otsuThreshold(data: ArrayLike<number>): number {
  const hist = new Float64Array(256);
  // Every index below is clamped to 0..255, the histogram's bins.
  for (let i = 0; i < data.length; i++) hist[Math.min(255, Math.max(0, Math.round(data[i]!)))]!++;
  const total = data.length;
  let sum = 0;
  for (let t = 0; t < 256; t++) sum += t * hist[t]!;
  let sumB = 0, weightB = 0, best = 0, bestVar = -1;
  for (let t = 0; t < 256; t++) {
    weightB += hist[t]!;
    if (!weightB) continue;
    const weightF = total - weightB;
    if (!weightF) break;
    sumB += t * hist[t]!;
    const mB = sumB / weightB;
    const mF = (sum - sumB) / weightF;
    const between = weightB * weightF * (mB - mF) ** 2;
    if (between > bestVar) [bestVar, best] = [between, t];
  }
  return best;
}

interface Component extends Box {
  pixels: number;
}

function components(mask: Uint8Array, w: number, h: number): Component[] {
  // mask and label are both w×h; every index is checked against those bounds.
  const label = new Int32Array(w * h).fill(-1);
  const out: Component[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start]! >= 0) continue;
    const c: Component = { x0: w, y0: h, x1: 0, y1: 0, pixels: 0 };
    label[start] = out.length;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % w;
      const y = (p - x) / w;
      c.pixels++;
      if (x < c.x0) c.x0 = x;
      if (y < c.y0) c.y0 = y;
      if (x + 1 > c.x1) c.x1 = x + 1;
      if (y + 1 > c.y1) c.y1 = y + 1;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const q = ny * w + nx;
          if (mask[q] && label[q]! < 0) {
            label[q] = out.length;
            stack.push(q);
          }
        }
      }
    }
    out.push(c);
  }
  return out;
}

const union = (a: Box, b: Box): Component => ({ x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1), pixels: ((a as Component).pixels ?? 0) + ((b as Component).pixels ?? 0) });

function horizontalOverlap(a: Box, b: Box): number {
  return Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) / Math.max(1, Math.min(a.x1 - a.x0, b.x1 - b.x0));
}

/**
 * Skew of a text line in degrees: the shear that makes the horizontal ink
 * projection most peaked (text rows line up), searched over ±maxDegrees. `gate` sets how large and
 * how clear a skew must be to count (a page's many lines make small skews clear; a single line's do not).
 */
export function estimateSkew(ink: GrayImage, maxDegrees = 10, step = 1, gate: { minDegrees?: number; minGain?: number } = {}): number {
  const { minDegrees = 2, minGain = 1.08 } = gate;
  const { width: w, height: h, data } = ink;
  // Ink points as flat (x, y, weight) triples: a page has hundreds of thousands, tried at every angle.
  let count = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! > 64) count++;
  if (count < 20) return 0;
  const points = new Float64Array(count * 3);
  let k = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = data[y * w + x]!; // x < w, y < h
      if (v <= 64) continue;
      points[k] = x - w / 2;
      points[k + 1] = y;
      points[k + 2] = v;
      k += 3;
    }
  }
  const rows = new Float64Array(h * 2 + 1);
  let best = 0;
  let bestScore = -Infinity;
  let straightScore = 0;
  for (let deg = -maxDegrees; deg <= maxDegrees; deg += step) {
    const t = Math.tan((deg * Math.PI) / 180);
    rows.fill(0);
    // points holds whole (x, y, weight) triples, so k + 2 < points.length.
    for (let k = 0; k < points.length; k += 3) {
      const r = Math.round(points[k + 1]! - points[k]! * t + h / 2);
      if (r >= 0 && r < rows.length) rows[r]! += points[k + 2]!;
    }
    let score = 0;
    for (const r of rows) score += r * r;
    if (deg === 0) straightScore = score;
    if (score > bestScore + 1e-9 || (Math.abs(score - bestScore) <= 1e-9 && Math.abs(deg) < Math.abs(best))) [best, bestScore] = [deg, score];
  }
  // Shearing a straight line italicizes its letters: by default correct only clear, sizeable skews.
  return Math.abs(best) >= minDegrees && bestScore > straightScore * minGain ? best : 0;
}

/** Undoes a skew by shearing rows back (small angles: a shear is a rotation to first order). */
export function deskew(ink: GrayImage, degrees: number): GrayImage {
  if (!degrees) return ink;
  const { width: w, height: h, data } = ink;
  const t = Math.tan((degrees * Math.PI) / 180);
  const pad = Math.ceil(Math.abs(t) * w / 2);
  const H = h + 2 * pad;
  const out = new Float32Array(w * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < w; x++) {
      const sy = y - pad + (x - w / 2) * t;
      const y0 = Math.floor(sy);
      const f = sy - y0;
      const a = y0 >= 0 && y0 < h ? data[y0 * w + x]! : 0;
      const b = y0 + 1 >= 0 && y0 + 1 < h ? data[(y0 + 1) * w + x]! : 0;
      out[y * w + x] = a * (1 - f) + b * f;
    }
  }
  return { width: w, height: H, data: out };
}

export interface SegmentOptions {
  invert?: boolean | 'auto';
  splitTouching?: boolean;
  deskew?: boolean;
  /**
   * Letters may touch or overlap: merge only pieces stacked over each other or
   * nearly touching, and cut any component over 1.5 line heights wide. Otherwise
   * letters are taken to stand apart: overlapping pieces are one letter, and only
   * components far wider than any letter are cut.
   */
  touching?: boolean;
}

export function segmentPhrase(img: GrayImage, options: SegmentOptions = {}): Segmentation {
  const unskewed = inkImage(img, options.invert ?? 'auto');
  if (unskewed.width * unskewed.height > MAX_PIXELS) return { segments: [], skew: 0, ink: unskewed, reason: `image is ${unskewed.width}x${unskewed.height}; over ${MAX_PIXELS / 1e6} megapixels, scale it down` };
  const skew = options.deskew === false ? 0 : estimateSkew(unskewed);
  const ink = deskew(unskewed, skew);
  const { width: w, height: h, data } = ink;
  let peak = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! > peak) peak = data[i]!;
  if (peak < 1) return { segments: [], skew, ink, reason: 'no ink found (the image is blank)' };
  const threshold = Math.max(otsuThreshold(data), 40);
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < data.length; i++) mask[i] = data[i]! > threshold ? 1 : 0;
  let parts = components(mask, w, h);
  const largest = Math.max(...parts.map((c) => c.pixels), 0);
  parts = parts.filter((c) => c.pixels >= Math.max(3, largest * 0.02));
  if (!parts.length) return { segments: [], skew, ink, reason: 'no ink found above the noise level' };
  // Letter-sized components only: dots and specks would pull the typical height down.
  const heights = parts.filter((c) => c.pixels >= largest * 0.3).map((c) => c.y1 - c.y0).sort((a, b) => a - b);
  // Never empty (the largest component is among them); the fallback only satisfies the type.
  const lineHeight = heights[Math.floor(heights.length * 0.75)] ?? 1;
  parts.sort((a, b) => a.x0 - b.x0);
  const touching = options.touching ?? false;
  const merged = touching ? mergeFragments(parts, lineHeight, 0.08, false) : mergeFragments(attachDots(parts, lineHeight), lineHeight, 0.04, true);
  const glyphs = merged.flatMap((c) => {
    if (options.splitTouching === false) return [c];
    // A letter's own height sets the scale (lowercase m is up to ~2.3x as wide as tall).
    const unit = touching ? lineHeight : Math.max(lineHeight, c.y1 - c.y0);
    return splitWide(c, mask, w, unit, touching ? 1.5 : 2.6);
  });
  const gaps = glyphs.slice(1).map((g, i) => g.x0 - glyphs[i]!.x1); // glyphs[i] is the glyph before g
  const wordGap = wordGapThreshold(gaps, lineHeight);
  const segments = glyphs.map((box, i) => ({ box, spaceBefore: (gaps[i - 1] ?? 0) > wordGap }));
  return { segments, skew, ink };
}

/**
 * Small marks go to the letter below them (dots of i and j, which may sit over a
 * neighbour's box); stray specks that no letter claims are dropped.
 */
function attachDots(parts: Component[], lineHeight: number): Component[] {
  const isDot = (c: Component) => c.y1 - c.y0 < 0.3 * lineHeight && c.x1 - c.x0 < 0.3 * lineHeight;
  const letters = parts.filter((c) => !isDot(c));
  const typicalPixels = median(letters.map((c) => c.pixels));
  for (const dot of parts.filter(isDot)) {
    const cx = (dot.x0 + dot.x1) / 2;
    let host = -1;
    let nearest = Infinity;
    letters.forEach((c, i) => {
      if (c.y0 < dot.y1 - 1) return;
      const distance = cx < c.x0 ? c.x0 - cx : cx > c.x1 ? cx - c.x1 : 0;
      if (distance < nearest) [host, nearest] = [i, distance];
    });
    const hostLetter = letters[host];
    if (hostLetter && nearest <= 0.3 * lineHeight) letters[host] = union(hostLetter, dot);
    else if (dot.pixels >= 0.1 * typicalPixels) letters.push(dot);
  }
  return letters.sort((a, b) => a.x0 - b.x0);
}

/**
 * Joins pieces of one letter: stacked pieces, and pieces nearly touching that
 * together are no wider than a letter, unless both are tall strokes (l, i, t side
 * by side). With `separate` letters, pieces whose boxes overlap are one letter too.
 */
function mergeFragments(parts: Component[], lineHeight: number, touchingGap: number, separate: boolean): Component[] {
  const tall = (b: Box) => b.y1 - b.y0 >= 0.5 * lineHeight;
  const merged: Component[] = [];
  for (const c of parts) {
    const last = merged[merged.length - 1];
    if (!last) {
      merged.push(c);
      continue;
    }
    const width = Math.max(last.x1, c.x1) - last.x0;
    const nearlyTouching = c.x0 - last.x1 <= Math.max(1, lineHeight * touchingGap) && width <= lineHeight * 0.9 && !(separate && tall(last) && tall(c));
    const overlapping = separate && c.x0 < last.x1 - 1 && width <= lineHeight * 1.5;
    if (horizontalOverlap(last, c) > 0.5 || nearlyTouching || overlapping) merged[merged.length - 1] = union(last, c);
    else merged.push(c);
  }
  return merged;
}

/** Cuts a box `limit` times wider than `unit` into pieces about `unit` wide, at ink-projection minima. */
function splitWide(c: Box, mask: Uint8Array, w: number, unit: number, limit: number): Box[] {
  const width = c.x1 - c.x0;
  if (width < unit * limit) return [c];
  const pieces = Math.max(2, Math.round(width / unit));
  const profile = new Float64Array(width);
  for (let y = c.y0; y < c.y1; y++) for (let x = c.x0; x < c.x1; x++) if (mask[y * w + x]) profile[x - c.x0]!++;
  const cuts: number[] = [];
  for (let k = 1; k < pieces; k++) {
    const centre = Math.round((k * width) / pieces);
    const lo = Math.max(1, centre - Math.round(width / pieces / 3));
    const hi = Math.min(width - 1, centre + Math.round(width / pieces / 3));
    let best = centre;
    for (let x = lo; x <= hi; x++) if (profile[x]! < profile[best]!) best = x; // 1 <= lo, hi <= width - 1
    cuts.push(c.x0 + best);
  }
  const out: Box[] = [];
  let x0 = c.x0;
  for (const x1 of [...cuts, c.x1]) {
    const box = tightVertical(mask, w, { x0, x1, y0: c.y0, y1: c.y1 });
    if (box) out.push(box);
    x0 = x1;
  }
  return out;
}

/**
 * Word gaps are the upper group of gaps when sorted gaps jump by ≥ 1.8x to one of
 * at least 0.6 line heights (the cut is the geometric mean across the jump);
 * without such a jump, only gaps over a line height (and 3x the median) count.
 */
function wordGapThreshold(gaps: number[], lineHeight: number): number {
  const sorted = gaps.filter((g) => g > 0).sort((a, b) => a - b);
  let threshold = Math.max(lineHeight, median(sorted) * 3);
  let bestJump = 0;
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [below, above] = [sorted[i]!, sorted[i + 1]!];
    const jump = above / Math.max(below, 1);
    if (above >= lineHeight * 0.6 && jump >= 1.8 && jump > bestJump) [bestJump, threshold] = [jump, Math.sqrt(Math.max(below, 1) * above)];
  }
  return threshold;
}

function tightVertical(mask: Uint8Array, w: number, box: Box): Box | undefined {
  let y0 = box.y1, y1 = box.y0;
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x < box.x1; x++) {
      if (mask[y * w + x]) {
        if (y < y0) y0 = y;
        if (y + 1 > y1) y1 = y + 1;
        break;
      }
    }
  }
  return y1 > y0 ? { ...box, y0, y1 } : undefined;
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** The ink image a stored segmentation's boxes refer to: polarity fixed, sheared back by its skew. */
export function segmentedInk(img: GrayImage, skew: number): GrayImage {
  return deskew(inkImage(img, 'auto'), skew);
}

/** The ink inside `box` as its own image (light on dark), for framing and recognition. */
export function crop(ink: GrayImage, box: Box): GrayImage {
  const w = box.x1 - box.x0;
  const h = box.y1 - box.y0;
  const out = new Float32Array(w * h);
  // The box lies inside the ink image.
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = ink.data[(y + box.y0) * ink.width + x + box.x0]!;
  return { width: w, height: h, data: out };
}
