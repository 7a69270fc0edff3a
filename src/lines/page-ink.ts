/**
 * The binary ink of a page, ready for line finding: shrunk to a working size, rules erased, split into
 * 8-connected components.
 */
import type { GrayImage } from '../data/framing.js';

export interface Component {
  /** The label of its pixels (the pieces of a component cut between two lines are relabelled). */
  id: number;
  x0: number;
  y0: number;
  x1: number; // exclusive
  y1: number; // exclusive
  pixels: number;
  /** Sum of pixel rows, for the centre of mass. */
  rowSum: number;
}

/** Ink (255 - gray) averaged over scale x scale cells: shrinking first keeps everything after it cheap. */
export function shrinkToInk(page: GrayImage, scale: number): GrayImage {
  const w = Math.max(1, Math.floor(page.width / scale));
  const h = Math.max(1, Math.floor(page.height / scale));
  const sums = new Float32Array(w * h);
  const colOf = new Int32Array(page.width);
  const colCount = new Float32Array(w);
  const rowCount = new Float32Array(h);
  for (let x = 0; x < page.width; x++) colCount[(colOf[x] = Math.min(w - 1, Math.floor(x / scale)))]!++;
  const { data } = page;
  for (let y = 0; y < page.height; y++) {
    const cell = Math.min(h - 1, Math.floor(y / scale));
    rowCount[cell]!++;
    const row = cell * w;
    const src = y * page.width;
    for (let x = 0; x < page.width; x++) sums[row + colOf[x]!]! += data[src + x]!;
  }
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) sums[y * w + x] = 255 - sums[y * w + x]! / (rowCount[y]! * colCount[x]!);
  return { width: w, height: h, data: sums };
}

/** Max-pools 2 x 2 cells. */
export function halve(img: GrayImage): GrayImage {
  const w = Math.max(1, img.width >> 1), h = Math.max(1, img.height >> 1);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 2 * y * img.width + 2 * x;
      out[y * w + x] = Math.max(img.data[i]!, img.data[i + 1] ?? 0, img.data[i + img.width] ?? 0, img.data[i + img.width + 1] ?? 0);
    }
  }
  return { width: w, height: h, data: out };
}

/** Erases horizontal runs (small gaps bridged) longer than `minRun`, and vertical ones as long: rules, not writing. */
export function eraseRules(ink: Uint8Array, w: number, h: number, minRun: number): void {
  const gap = 3;
  const erase: number[] = [];
  for (let y = 0; y < h; y++) {
    let start = -1, last = -1;
    for (let x = 0; x <= w; x++) {
      const on = x < w && ink[y * w + x];
      if (on) {
        if (start < 0 || x - last > gap) {
          if (start >= 0 && last - start + 1 >= minRun) erase.push(y * w + start, y * w + last);
          start = x;
        }
        last = x;
      }
    }
    if (start >= 0 && last - start + 1 >= minRun) erase.push(y * w + start, y * w + last);
  }
  for (let k = 0; k < erase.length; k += 2) ink.fill(0, erase[k], erase[k + 1]! + 1);
  const vertical = Math.max(minRun, Math.round(0.12 * h));
  for (let x = 0; x < w; x++) {
    let start = -1, last = -1;
    const flush = () => {
      if (start >= 0 && last - start + 1 >= vertical) for (let y = start; y <= last; y++) ink[y * w + x] = 0;
    };
    for (let y = 0; y < h; y++) {
      if (!ink[y * w + x]) continue;
      if (start < 0 || y - last > gap) {
        flush();
        start = y;
      }
      last = y;
    }
    flush();
  }
}

export function connectedComponents(ink: Uint8Array, w: number, h: number): { labels: Int32Array; components: Component[] } {
  const labels = new Int32Array(w * h).fill(-1);
  const components: Component[] = [];
  const stack = new Int32Array(w * h);
  for (let start = 0; start < ink.length; start++) {
    if (!ink[start] || labels[start]! >= 0) continue;
    const id = components.length;
    const c: Component = { id, x0: w, y0: h, x1: 0, y1: 0, pixels: 0, rowSum: 0 };
    let sp = 0;
    stack[sp++] = start;
    labels[start] = id;
    while (sp) {
      const p = stack[--sp]!;
      const x = p % w, y = (p - x) / w;
      c.pixels++;
      c.rowSum += y;
      if (x < c.x0) c.x0 = x;
      if (y < c.y0) c.y0 = y;
      if (x + 1 > c.x1) c.x1 = x + 1;
      if (y + 1 > c.y1) c.y1 = y + 1;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= w) continue;
          const q = ny * w + nx;
          if (ink[q] && labels[q]! < 0) {
            labels[q] = id;
            stack[sp++] = q;
          }
        }
      }
    }
    components.push(c);
  }
  return { labels, components };
}
