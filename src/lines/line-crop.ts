/**
 * Cuts one text line out of a page as Kraken and eScriptorium extract lines: the polygon's bounding box,
 * with every pixel outside the polygon set to paper. Dark ink on light paper in and out.
 */
import type { GrayImage } from '../data/framing.js';
import { boundingBox, type LineBox, type Point } from './geometry.js';

export const PAPER = 255;

/** The polygon's box clipped to the page; undefined when nothing of it is on the page. */
export function cropBox(page: { width: number; height: number }, polygon: readonly Point[]): LineBox | undefined {
  const box = boundingBox(polygon);
  const x0 = Math.max(0, box.x), y0 = Math.max(0, box.y);
  const x1 = Math.min(page.width, box.x + box.width), y1 = Math.min(page.height, box.y + box.height);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : undefined;
}

export function cropLine(page: GrayImage, polygon: readonly Point[]): GrayImage {
  const box = cropBox(page, polygon);
  if (!box || polygon.length < 3) return { width: 1, height: 1, data: new Float32Array([PAPER]) };
  const { x: bx, y: by, width, height } = box;
  const out = new Float32Array(width * height).fill(PAPER);
  const crossings: number[] = [];
  const n = polygon.length;
  for (let row = 0; row < height; row++) {
    // Scanline fill (even-odd) at pixel centres: only the rows and spans inside the polygon are copied.
    const yc = by + row + 0.5;
    crossings.length = 0;
    // i and (i + 1) % n index the polygon's n points.
    for (let i = 0; i < n; i++) {
      const [ax, ay] = polygon[i]!;
      const [cx, cy] = polygon[(i + 1) % n]!;
      if ((ay <= yc && cy > yc) || (cy <= yc && ay > yc)) crossings.push(ax + ((yc - ay) / (cy - ay)) * (cx - ax));
    }
    crossings.sort((a, b) => a - b);
    const source = (by + row) * page.width;
    const target = row * width;
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      const from = Math.max(bx, Math.ceil(crossings[k]! - 0.5));
      const to = Math.min(bx + width - 1, Math.floor(crossings[k + 1]! - 0.5));
      for (let x = from; x <= to; x++) out[target + x - bx] = page.data[source + x]!; // the box lies inside the page
    }
  }
  return { width, height, data: out };
}
