/** Rule erasure on real Copiste lines: dotted and solid rules go, writing stays, and unruled lines are untouched. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DATA_DIR } from './helpers.js';
import { readGrayImage } from '../src/data/images.js';
import { inkImage, type GrayImage } from '../src/data/framing.js';
import { eraseLineRules } from '../src/lines/line-rules.js';
import { normalizeLine } from '../src/lines/line-image.js';

const line = async (id: string) => inkImage(await readGrayImage(join(DATA_DIR, 'copiste-lines', 'images', `${id}.png`)), 'auto');
const inkIn = (img: GrayImage, y0: number, y1: number) => {
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = 0; x < img.width; x++) sum += img.data[y * img.width + x]!;
  return sum;
};

describe('eraseLineRules', () => {
  it.each([
    ['wikitexte_0010_2_05', 'dotted, drifting by a row across the line'],
    ['wikitexte_0057_01', 'solid, under the writing'],
    ['imp_wikitexte_0226_02', 'solid, the writing sitting on it'],
  ])('erases the rule of %s (%s) and keeps the writing above it', async (id) => {
    const ink = await line(id);
    const { image, rows } = eraseLineRules(ink);
    expect(rows.length).toBeGreaterThan(0);
    const top = Math.max(0, rows[0]! - 3);
    const bottom = Math.min(ink.height, rows[rows.length - 1]! + 4);
    // Nearly all ink of the rule's band is gone ...
    expect(inkIn(image, top, bottom)).toBeLessThan(0.35 * inkIn(ink, top, bottom));
    // ... and the writing well above it is untouched.
    const writing = Math.max(0, top - 4);
    expect(inkIn(image, 0, writing)).toBe(inkIn(ink, 0, writing));
    expect(inkIn(ink, 0, writing)).toBeGreaterThan(0);
  });

  it.each(['wikitexte_0073_07', 'imp_wikitexte_0022_01', 'wikitexte_0070_01'])('leaves %s, written without a rule, as it is', async (id) => {
    const ink = await line(id);
    const { image, rows } = eraseLineRules(ink);
    expect(rows).toEqual([]);
    expect(image.data).toEqual(ink.data);
  });

  it('leaves the writing, not the rule, as the darkest band of the normalized line', async () => {
    const img = await readGrayImage(join(DATA_DIR, 'copiste-lines', 'images', 'wikitexte_0010_2_05.png'));
    const inkiestRow = (l: { width: number; height: number; data: Uint8Array }) => {
      const sums = Array.from({ length: l.height }, (_, y) => l.data.subarray(y * l.width, (y + 1) * l.width).reduce((a, b) => a + b, 0));
      return sums.indexOf(Math.max(...sums));
    };
    // With the rule kept it is the inkiest row, at the bottom; erased, the inkiest row is in the writing's middle band.
    expect(inkiestRow(normalizeLine(img, { height: 40 }))).toBeGreaterThanOrEqual(32);
    expect(inkiestRow(normalizeLine(img, { height: 40, eraseRules: true }))).toBeLessThan(28);
  });
});
