/** Rule erasure on real Copiste lines: dotted and solid rules go where they run bare, the letters resting on them keep their bottoms, and unruled lines are untouched. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DATA_DIR } from './helpers.js';
import { readGrayImage } from '../src/data/images.js';
import { inkImage, type GrayImage } from '../src/data/framing.js';
import { eraseLineRules, withRuleErasure } from '../src/lines/line-rules.js';
import { LINE_MODEL_FILE, LINE_MODEL_FORMAT, readLineModelMeta } from '../src/lines/line-model-artifact.js';
import { CHARSET_FORMAT } from '../src/lines/charset.js';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { normalizeLine } from '../src/lines/line-image.js';
import { linesOf } from '../src/lines/page-reader.js';

const line = async (id: string) => inkImage(await readGrayImage(join(DATA_DIR, 'copiste-lines', 'images', `${id}.png`)), 'auto');
const inkIn = (img: GrayImage, y0: number, y1: number, columns?: boolean[]) => {
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = 0; x < img.width; x++) if (!columns || columns[x]) sum += img.data[y * img.width + x]!;
  return sum;
};

/** Columns with no ink outside rows top..bottom within a tenth of the height either side: where the rule runs bare. */
const bareColumns = (img: GrayImage, top: number, bottom: number) => {
  let peak = 0;
  for (const v of img.data) if (v > peak) peak = v;
  const inkedOutside = Array.from({ length: img.width }, (_, x) => {
    for (let y = 0; y < img.height; y++) if ((y < top || y >= bottom) && img.data[y * img.width + x]! > 0.3 * peak) return true;
    return false;
  });
  const reach = Math.round(0.1 * img.height);
  return inkedOutside.map((_, x) => !inkedOutside.slice(Math.max(0, x - reach), x + reach + 1).some(Boolean));
};

describe('eraseLineRules', () => {
  it.each([
    ['wikitexte_0010_2_05', 'dotted, drifting by a row across the line'],
    ['wikitexte_0057_01', 'solid, under the writing'],
    ['imp_wikitexte_0226_02', 'solid, the writing sitting on it'],
    ['imp_wikitexte_0055_03', 'solid, the writing sitting on it'],
  ])('erases the rule of %s (%s) where it runs bare, and keeps the writing above it', async (id) => {
    const ink = await line(id);
    const { image, rows } = eraseLineRules(ink);
    expect(rows.length).toBeGreaterThan(0);
    const top = Math.max(0, rows[0]! - 3);
    const bottom = Math.min(ink.height, rows[rows.length - 1]! + 4);
    const bare = bareColumns(ink, top, bottom);
    expect(bare.filter(Boolean).length).toBeGreaterThan(0.05 * ink.width);
    // Between the words and past them, nearly all ink of the rule's band is gone ...
    expect(inkIn(image, top, bottom, bare)).toBeLessThan(0.35 * inkIn(ink, top, bottom, bare));
    // ... and the writing well above it is untouched.
    const writing = Math.max(0, top - 4);
    expect(inkIn(image, 0, writing)).toBe(inkIn(ink, 0, writing));
    expect(inkIn(ink, 0, writing)).toBeGreaterThan(0);
  });

  // Erasing the whole band cut the bottoms off the letters resting on it: "en 2020" read as "en anan".
  it.each(['imp_wikitexte_0111_06', 'imp_wikitexte_0226_02', 'imp_wikitexte_0055_03'])('keeps the bottoms of the letters resting on the rule of %s', async (id) => {
    const ink = await line(id);
    const { image, rows } = eraseLineRules(ink);
    expect(rows.length).toBeGreaterThan(0);
    expect(inkIn(image, 0, rows[0]!)).toBeGreaterThan(0.99 * inkIn(ink, 0, rows[0]!));
  });

  it.each(['wikitexte_0073_07', 'imp_wikitexte_0022_01', 'wikitexte_0070_01'])('leaves %s, written without a rule, as it is', async (id) => {
    const ink = await line(id);
    const { image, rows } = eraseLineRules(ink);
    expect(rows).toEqual([]);
    expect(image.data).toEqual(ink.data);
  });

  it('no longer lets a rule running past the writing widen the normalized line', async () => {
    const img = await readGrayImage(join(DATA_DIR, 'copiste-lines', 'images', 'wikitexte_0172_1_11.png'));
    const kept = normalizeLine(img, { height: 40 });
    const erased = normalizeLine(img, { height: 40, eraseRules: 'bare' });
    expect(erased.width).toBeLessThan(0.9 * kept.width);
  });

  it('reads with a model trained before the method was recorded as it was trained: the whole band erased', async () => {
    const img = await readGrayImage(join(DATA_DIR, 'copiste-lines', 'images', 'imp_wikitexte_0111_06.png'));
    const [legacy] = linesOf(img, { height: 40, erase_rules: true }, 'line');
    expect(legacy!.image.data).toEqual(normalizeLine(img, { height: 40, eraseRules: 'band' }).data);
    expect(legacy!.image.data).not.toEqual(normalizeLine(img, { height: 40, eraseRules: 'bare' }).data);
    const [current] = linesOf(img, { height: 40, erase_rules: true, rule_erasure: 'bare' }, 'line');
    expect(current!.image.data).toEqual(normalizeLine(img, { height: 40, eraseRules: 'bare' }).data);
  });

  it('keeps the band method exactly as it was: the lines it gives match those recorded from the code before bare (2d13b40)', async () => {
    const recorded: [string, number, string][] = [
      ['imp_wikitexte_0111_06', 278, 'f79c40c258ca7a11'],
      ['wikitexte_0010_2_05', 569, '55a62f6cf564744c'],
      ['imp_wikitexte_0226_02', 527, '5e563fdacc8e89cf'],
    ];
    for (const [id, width, digest] of recorded) {
      const l = normalizeLine(await readGrayImage(join(DATA_DIR, 'copiste-lines', 'images', `${id}.png`)), { height: 40, eraseRules: 'band' });
      expect([l.width, createHash('sha256').update(l.data).digest('hex').slice(0, 16)]).toEqual([width, digest]);
    }
  });
});

describe('rule erasure in line model and dataset descriptions', () => {
  it('refuses a method this inkflow does not know, naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rules-'));
    const charset = { format: CHARSET_FORMAT, characters: ['a'] };
    await writeFile(join(dir, LINE_MODEL_FILE), JSON.stringify({ format: LINE_MODEL_FORMAT, kind: 'ctc-line', height: 40, stride: 4, charset, erase_rules: true, rule_erasure: 'Bare' }));
    await expect(readLineModelMeta(dir)).rejects.toThrow(/line-model\.json: rule_erasure is "Bare"; this inkflow erases rules by "band" or "bare"/);
  });

  it('sets a method without leaving a stale one behind', () => {
    expect(withRuleErasure({ height: 40, erase_rules: true, rule_erasure: 'bare' as const }, false)).toEqual({ height: 40, erase_rules: false });
    expect(withRuleErasure({ height: 40 }, 'bare')).toEqual({ height: 40, erase_rules: true, rule_erasure: 'bare' });
  });
});
