/** A phrase image with the boxes and letters the reader found, coloured by confidence, and the text read vs the truth. */
import type { ReadResult } from '../phrases/reader.js';
import { FONT } from './chart.js';

export async function phraseOverlayPng(imageBytes: Buffer, result: ReadResult | undefined, truth: string, read: string, charErrors: number): Promise<Buffer> {
  const { createCanvas, loadImage } = await import('@napi-rs/canvas');
  const image = await loadImage(imageBytes);
  const zoom = 2;
  const canvas = createCanvas(image.width * zoom, image.height * zoom + 64);
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.drawImage(image, 0, 0, image.width * zoom, image.height * zoom);
  g.lineWidth = 2;
  for (const c of result?.characters ?? []) {
    g.strokeStyle = c.confidence > 0.8 ? '#27ae60' : c.confidence > 0.5 ? '#e67e22' : '#c0392b';
    g.strokeRect(c.box.x0 * zoom, c.box.y0 * zoom, (c.box.x1 - c.box.x0) * zoom, (c.box.y1 - c.box.y0) * zoom);
    g.fillStyle = g.strokeStyle;
    g.font = `bold 14px ${FONT}`;
    g.fillText(c.letter, c.box.x0 * zoom + 2, c.box.y0 * zoom + 14);
  }
  g.font = `16px ${FONT}`;
  g.fillStyle = '#111';
  g.fillText(`truth: ${truth}`, 6, image.height * zoom + 24);
  g.fillStyle = read === truth ? '#27ae60' : '#c0392b';
  g.fillText(`read:  ${read}   (${charErrors} char errors)`, 6, image.height * zoom + 50);
  return canvas.encode('png');
}
