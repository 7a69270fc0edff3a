/**
 * `inkflow read` finds lines on worker threads: real images decoded and
 * normalized there must come back in the order given, equal to what the main
 * thread computes, with a user's bad file reported and the rest still read.
 */
import { describe, expect, it } from 'vitest';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_DIR, workspace } from './helpers.js';
import { startFindingLines, type FoundLines } from '../src/lines/line-finder-pool.js';
import { readGrayImage } from '../src/data/images.js';
import { linesOf } from '../src/lines/page-reader.js';
import { createCanvas } from '@napi-rs/canvas';

const LINES = join(DATA_DIR, 'copiste-lines', 'images');
const model = { height: 40, erase_rules: true, rule_erasure: 'bare' as const };

/** A white line image with black dashes along its middle, as PNG bytes. */
function stripedLine(width: number, height: number): Buffer {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#000';
  for (let x = 0; x < width; x += 40) ctx.fillRect(x, height / 3, 20, height / 3);
  return canvas.toBuffer('image/png');
}

async function collect(files: string[], threads: number): Promise<[string, FoundLines][]> {
  const finder = startFindingLines(files, { layout: 'auto', model }, threads);
  const out: [string, FoundLines][] = [];
  try {
    for await (const item of finder.results()) out.push(item);
  } finally {
    await finder.close();
  }
  return out;
}

describe('finding lines on worker threads', () => {
  it('returns every file in order, normalized exactly as on the main thread, with bad files as messages', async () => {
    const images = (await readdir(LINES)).filter((f) => f.endsWith('.png')).sort().slice(0, 40).map((f) => join(LINES, f));
    const dir = await workspace();
    const notAnImage = join(dir, 'notes.png');
    await writeFile(notAnImage, 'not a png');
    const missing = join(dir, 'missing.png');
    const wide = join(dir, 'wide.png');
    await writeFile(wide, stripedLine(20_000, 60));
    const files = [...images.slice(0, 20), notAnImage, ...images.slice(20), wide, missing];
    const found = await collect(files, 2);
    expect(found.map(([file]) => file)).toEqual(files);
    expect(found[20]![1]).toEqual({ error: expect.stringMatching(/notes\.png: not a decodable image/) });
    expect(found.at(-1)![1]).toEqual({ error: expect.stringMatching(/missing\.png/) });
    expect(found.at(-2)![1]).toEqual({ error: expect.stringMatching(/wide\.png: line image is 20000 px wide .*; is it a whole page\?/) });
    for (const [file, result] of found.filter(([f]) => ![notAnImage, wide, missing].includes(f))) {
      if ('error' in result) throw new Error(`${file}: ${result.error}`);
      const img = await readGrayImage(file);
      const inline = linesOf(img, model, 'line');
      expect(result.size).toEqual({ width: img.width, height: img.height });
      expect(result.lines).toHaveLength(1);
      expect(result.lines[0]!.image.width).toBe(inline[0]!.image.width);
      expect(Buffer.from(result.lines[0]!.image.data).equals(Buffer.from(inline[0]!.image.data))).toBe(true);
    }
  }, 120_000);

  it('says a page too wide to read is to be scaled down, naming the line found on it', async () => {
    const dir = await workspace();
    const page = join(dir, 'page.png');
    const canvas = createCanvas(13_000, 800);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, 13_000, 800);
    ctx.fillStyle = '#000';
    ctx.font = '400px sans-serif';
    for (let x = 20; x < 12_600; x += 1500) ctx.fillText('writing', x, 550);
    await writeFile(page, canvas.toBuffer('image/png'));
    const img = await readGrayImage(page);
    expect(() => linesOf(img, model, 'page', page)).toThrow(/page\.png, the line found at x=\d+ y=\d+: line image is \d+ px wide \(over 12000\); scale the page down/);
  });

  it('gives the same results with one worker as with several', async () => {
    const images = (await readdir(LINES)).filter((f) => f.endsWith('.png')).sort().slice(100, 110).map((f) => join(LINES, f));
    const one = await collect(images, 1);
    const three = await collect(images, 3);
    expect(three).toEqual(one);
  }, 120_000);
});
