/** A picture of text lines with what was read: each line image, its reference and its reading, errors in red. */
import type { LineImage } from '../lines/line-image.js';
import { align } from '../lines/text-metrics.js';
import { graphemes } from '../lines/graphemes.js';

const FONT = 'DejaVu Sans, Liberation Sans, sans-serif';

export interface LineReadingRow {
  image: LineImage;
  reference: string;
  reading: string;
  label: string;
}

export async function drawLineReadings(rows: readonly LineReadingRow[], title: string, maxWidth = 1400): Promise<Uint8Array> {
  const { createCanvas } = await import('@napi-rs/canvas');
  const pad = 12;
  const scale = 1.5;
  const heights = rows.map((r) => Math.round(r.image.height * scale) + 78);
  const width = Math.min(maxWidth, Math.max(600, ...rows.map((r) => Math.round(r.image.width * scale) + 2 * pad)));
  const height = 40 + heights.reduce((a, b) => a + b, 0) + pad;
  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, width, height);
  g.fillStyle = '#111';
  g.font = `bold 16px ${FONT}`;
  g.fillText(title, pad, 26);
  let y = 40;
  for (const [i, row] of rows.entries()) {
    const { image } = row;
    const tile = createCanvas(image.width, image.height);
    const tctx = tile.getContext('2d');
    const data = tctx.createImageData(image.width, image.height);
    for (let p = 0; p < image.data.length; p++) {
      const v = 255 - image.data[p]!;
      data.data.set([v, v, v, 255], p * 4);
    }
    tctx.putImageData(data, 0, 0);
    g.drawImage(tile, pad, y, Math.min(image.width * scale, width - 2 * pad), image.height * scale);
    let ty = y + image.height * scale + 18;
    g.font = `12px ${FONT}`;
    g.fillStyle = '#777';
    g.fillText(row.label, pad, ty);
    g.font = `14px ${FONT}`;
    ty += 20;
    g.fillStyle = '#555';
    g.fillText('ref:', pad, ty);
    g.fillStyle = '#111';
    g.fillText(row.reference, pad + 44, ty, width - 2 * pad - 44);
    ty += 20;
    g.fillStyle = '#555';
    g.fillText('read:', pad, ty);
    drawReading(g, row.reference, row.reading, pad + 44, ty, width - 2 * pad - 44);
    y += heights[i]!;
  }
  return canvas.encode('png');
}

/** The reading with characters that are not in the reference at that place drawn in red. */
function drawReading(g: { fillStyle: unknown; fillText(t: string, x: number, y: number): void; measureText(t: string): { width: number } }, reference: string, reading: string, x: number, y: number, maxWidth: number): void {
  const ops = align(graphemes(reference), graphemes(reading)).ops;
  let cx = x;
  for (const op of ops) {
    if (op.op === 'delete') continue;
    const char = op.hyp;
    g.fillStyle = op.op === 'equal' ? '#111' : '#c0392b';
    if (cx + g.measureText(char).width > x + maxWidth) break;
    g.fillText(char, cx, y);
    cx += g.measureText(char).width;
  }
}
