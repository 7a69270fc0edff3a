/** Shapes shared by the line modules: page-pixel points, polygons and boxes as ALTO/PAGE express them. */

/** [x, y] in page pixels. */
export type Point = [number, number];

/** A box in page pixels, as ALTO's HPOS/VPOS/WIDTH/HEIGHT. Covers columns x..x+width-1 and rows y..y+height-1. */
export interface LineBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The smallest whole-pixel box around the points (max exclusive, as Kraken/PIL crop). */
export function boundingBox(points: readonly Point[]): LineBox {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of points) {
    if (x < x0) x0 = x;
    if (y < y0) y0 = y;
    if (x > x1) x1 = x;
    if (y > y1) y1 = y;
  }
  if (!points.length) return { x: 0, y: 0, width: 0, height: 0 };
  const x = Math.floor(x0), y = Math.floor(y0);
  return { x, y, width: Math.max(1, Math.ceil(x1) - x), height: Math.max(1, Math.ceil(y1) - y) };
}

export function boxPolygon(box: LineBox): Point[] {
  const { x, y, width, height } = box;
  return [[x, y], [x + width, y], [x + width, y + height], [x, y + height]];
}

/** Overlap of two boxes' row ranges over their union (0..1). */
export function verticalIoU(a: LineBox, b: LineBox): number {
  const inter = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (inter <= 0) return 0;
  return inter / (Math.max(a.y + a.height, b.y + b.height) - Math.min(a.y, b.y));
}

/** Columns two boxes share, as a fraction of the narrower one's width. */
export function horizontalOverlap(a: LineBox, b: LineBox): number {
  const inter = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  return Math.max(0, inter) / Math.max(1, Math.min(a.width, b.width));
}
