import { describe, it, expect, beforeAll } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_DIR } from './helpers.js';
import { readLineXml, type XmlPage } from '../src/lines/xml-lines.js';
import { findTextLines, type FoundLine } from '../src/lines/page-layout.js';
import { matchLines, type LineMatchResult } from '../src/lines/line-match.js';
import { cropBox, cropLine } from '../src/lines/line-crop.js';
import { readGrayImage } from '../src/data/images.js';
import type { GrayImage } from '../src/data/framing.js';

// The 8 copiste pages are validation-split pages: the only ones line finding was tuned on.
const PAGES = join(DATA_DIR, 'copiste-pages');

describe('findTextLines on the copiste pages', () => {
  const pages: { truth: XmlPage; image: GrayImage; found: FoundLine[]; score: LineMatchResult }[] = [];
  beforeAll(async () => {
    for (const xml of (await readdir(PAGES)).filter((f) => f.endsWith('.xml')).sort()) {
      const truth = await readLineXml(join(PAGES, xml));
      const image = await readGrayImage(truth.imagePath);
      const found = findTextLines(image);
      pages.push({ truth, image, found, score: matchLines(truth.lines.map((l) => l.box), found.map((l) => l.box)) });
    }
    for (const { truth, score } of pages) {
      console.log(`${truth.xmlPath.split('/').pop()}: ${score.matched}/${score.truth} ground-truth lines found, ${score.found} found, ${score.extra} extra (${score.extraAbove} above the first transcribed line)`);
    }
  });

  it('finds at least 97 % of the ground-truth lines (vertical IoU >= 0.5), at least 90 % on every page', () => {
    const matched = pages.reduce((s, p) => s + p.score.matched, 0);
    const truth = pages.reduce((s, p) => s + p.score.truth, 0);
    expect(truth).toBe(146);
    expect(matched / truth).toBeGreaterThanOrEqual(0.97);
    for (const { score } of pages) expect(score.matched / score.truth).toBeGreaterThanOrEqual(0.9);
  });

  it('finds few lines that are not there: the printed header aside, at most one extra line per page', () => {
    for (const { score } of pages) {
      expect(score.extraAbove).toBeLessThanOrEqual(2);
      expect(score.extra - score.extraAbove).toBeLessThanOrEqual(1);
    }
    expect(pages.reduce((s, p) => s + p.score.extra - p.score.extraAbove, 0)).toBeLessThanOrEqual(2);
  });

  it('gives lines in reading order, with outlines and baselines inside their boxes', () => {
    for (const { truth, found, score } of pages) {
      // Top to bottom: taken by their ground-truth line's middle, the matched lines come in order (the
      // exported XML lists a block's lines first, so its own order puts the page reference last).
      const middle = (i: number) => truth.lines[i].box.y + truth.lines[i].box.height / 2;
      const order = truth.lines.map((_, i) => i).sort((a, b) => middle(a) - middle(b)).map((i) => score.pairs[i]).filter((j) => j >= 0);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      for (const line of found) {
        expect(line.polygon.length).toBeGreaterThanOrEqual(4);
        expect(line.baseline).toHaveLength(2);
        const { x, y, width, height } = line.box;
        const outside = [...line.polygon, ...line.baseline].filter(([px, py]) => px < x || px > x + width || py < y || py > y + height || px > truth.width || py > truth.height);
        expect(outside).toEqual([]);
      }
    }
  });

  it('puts each matched baseline near the ground truth baseline', () => {
    const offsets: number[] = [];
    for (const { truth, found, score } of pages) {
      truth.lines.forEach((l, i) => {
        const j = score.pairs[i];
        if (j < 0 || !l.baseline) return;
        const mid = (line: [number, number][]) => (line[0][1] + line[line.length - 1][1]) / 2;
        offsets.push(Math.abs(mid(found[j].baseline) - mid(l.baseline)));
      });
    }
    offsets.sort((a, b) => a - b);
    // Half a line spacing (about 110 px on these 300 dpi pages) would put it on the wrong line.
    expect(offsets[Math.floor(offsets.length / 2)]).toBeLessThan(25);
  });

  it('outlines crop the writing of their ground-truth line and little of its neighbours', () => {
    /** Page offsets of the dark pixels a polygon's crop keeps. */
    const inkKept = (image: GrayImage, polygon: [number, number][]) => {
      const box = cropBox(image, polygon)!;
      const crop = cropLine(image, polygon);
      const kept = new Set<number>();
      for (let y = 0; y < crop.height; y++) for (let x = 0; x < crop.width; x++) if (crop.data[y * crop.width + x] < 100) kept.add((y + box.y) * image.width + x + box.x);
      return kept;
    };
    const precision: number[] = [], recall: number[] = [];
    for (const { truth, image, found, score } of pages) {
      truth.lines.forEach((line, i) => {
        if (score.pairs[i] < 0) return;
        const mine = inkKept(image, found[score.pairs[i]].polygon);
        const theirs = inkKept(image, line.polygon);
        let both = 0;
        for (const p of mine) if (theirs.has(p)) both++;
        precision.push(both / mine.size);
        recall.push(both / theirs.size);
      });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`ink of the ground-truth line kept: median ${median(recall).toFixed(3)}; ink kept that is the line's: median ${median(precision).toFixed(3)}`);
    expect(median(recall)).toBeGreaterThan(0.95);
    expect(median(precision)).toBeGreaterThan(0.95);
  });

  it('finds nothing on blank paper and one line on a page with one ruled-out stroke of writing', () => {
    const width = 1275, height = 1650;
    const blank = new Float32Array(width * height).fill(245);
    expect(findTextLines({ width, height, data: blank })).toEqual([]);
    const page = new Float32Array(width * height).fill(245);
    // Ruled paper: faint full-width rules every 55 px...
    for (let y = 100; y < height; y += 55) for (let x = 0; x < width; x++) page[y * width + x] = 170;
    // ...and one line of "writing": short dark strokes sitting on one rule.
    for (let x0 = 150; x0 < 1000; x0 += 30) for (let y = 276; y < 320; y++) for (let x = x0; x < x0 + 6 + ((x0 / 30) % 3) * 4; x++) page[y * width + x] = 30;
    const lines = findTextLines({ width, height, data: page });
    expect(lines).toHaveLength(1);
    expect(lines[0].box.y).toBeGreaterThanOrEqual(270);
    expect(lines[0].box.y + lines[0].box.height).toBeLessThanOrEqual(326);
  });
});
