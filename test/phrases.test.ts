/** Phrases end to end on real letters (quick model), plus the read command on a word written in real pen-on-paper scans. */
import { beforeAll, describe, expect, it } from 'vitest';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_DIR, inkflow, ROOT, runJson, workspace } from './helpers.js';
import { deskew, estimateSkew, segmentPhrase } from '../src/phrases/segment.js';
import { inkImage } from '../src/data/framing.js';
import { encodeGrayPng } from '../src/phrases/png.js';
import { editDistance } from '../src/util/text.js';
import { loadWords } from '../src/phrases/words.js';

let ws: string;
beforeAll(async () => {
  ws = await workspace();
  await cp(join(ROOT, 'pipelines'), join(ws, 'pipelines'), { recursive: true });
  const quick = await runJson(ws, ['pipelines/quick.yaml', '--set', 'train.epochs=2', '--set', 'sample-train.count=2000']);
  expect(quick.summary.ok).toBe(true);
}, 300_000);

/** A word made of real scanned pen-on-paper letters (chars62-scans), side by side on white. */
async function scannedWord(word: string): Promise<string> {
  const { createCanvas, loadImage } = await import('@napi-rs/canvas');
  const labels = (await readFile(join(DATA_DIR, 'chars62-scans', 'labels.csv'), 'utf8')).trim().split(/\r?\n/).slice(1).map((l) => l.trim().split(','));
  const images = [];
  for (const ch of word) images.push(await loadImage(await readFile(join(DATA_DIR, 'chars62-scans', labels.find(([, c]) => c === ch)![0]))));
  const height = Math.max(...images.map((i) => i.height)) + 20;
  const canvas = createCanvas(images.reduce((s, i) => s + i.width + 12, 20), height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  let x = 10;
  for (const img of images) {
    g.globalCompositeOperation = 'darken';
    g.drawImage(img, x, (height - img.height) / 2);
    x += img.width + 12;
  }
  const file = join(ws, `${word}.png`);
  await writeFile(file, await canvas.encode('png'));
  return file;
}

describe('phrases', () => {
  it('phrases.yaml: synthesize from held-out writers, segment, read, score, and build a letter dataset', async () => {
    // The phrase stages of phrases.yaml on top of the quick pipeline's model instead of letters.yaml's.
    const { parse, stringify } = await import('yaml');
    const phrases = parse(await readFile(join(ws, 'pipelines/phrases.yaml'), 'utf8'));
    await writeFile(join(ws, 'pipelines/phrases-quick.yaml'), stringify({ ...phrases, name: 'phrases', include: ['quick.yaml'] }));
    const run = await runJson(ws, ['pipelines/phrases-quick.yaml', '--set', 'train.epochs=2', '--set', 'sample-train.count=2000', '--set', 'phrases.count=40', '--set', 'phrases-touching.count=20',
      // The line model's stages, tiny: 48 training phrases, two batches.
      '--set', 'params.line_preset=tiny', '--set', 'params.line_height=16', '--set', 'phrases-train.count=48', '--set', 'phrases-validation.count=8', '--set', 'train-phrase-lines.epochs=1', '--set', 'train-phrase-lines.steps_per_epoch=2',
      '--set', 'params.line_context_preset=tiny', '--set', 'train-phrase-context.epochs=1', '--set', 'train-phrase-context.steps_per_epoch=2']);
    expect(run.summary.ok).toBe(true);
    expect(run.statuses.train).toBe('cached'); // the quick model trained in beforeAll is reused
    const out = (p: string) => join(ws, 'artifacts', 'phrases', p);
    const labels = (await readFile(out('phrases/phrases/labels.tsv'), 'utf8')).trim().split('\n');
    expect(labels).toHaveLength(41);
    const metrics = JSON.parse(await readFile(out('evaluate-phrases/report/metrics.json'), 'utf8'));
    expect(metrics.phrases).toBe(40);
    expect(metrics.cer).toBeGreaterThan(0);
    expect(metrics.cer).toBeLessThan(0.8); // a 2-epoch model reads much better than chance (≈0.96)
    const lexicon = JSON.parse(await readFile(out('evaluate-lexicon/report/metrics.json'), 'utf8'));
    expect(lexicon.wer).toBeLessThanOrEqual(metrics.wer);
    const lines = JSON.parse(await readFile(out('evaluate-touching-lines/report/metrics.json'), 'utf8'));
    expect(lines.lines).toBe(20);
    expect(lines.scores.greedy.cer).toBeGreaterThan(0);
    // english_words: the lexicon decoder reads only words of the English list the phrases are drawn from.
    const english = new Set(await loadWords());
    const readings = (await readFile(out('evaluate-touching-lines/report/lines.csv'), 'utf8')).trim().split('\n');
    expect(readings[0]).toBe('id,reference,greedy,lm,lm_lexicon,cer');
    const lexiconWords = readings.slice(1).flatMap((row) => row.split(',')[4]!.split(' ').filter(Boolean));
    expect(lexiconWords.length).toBeGreaterThan(0);
    expect(lexiconWords.filter((w) => !english.has(w))).toEqual([]);
    const phraseLines = JSON.parse(await readFile(out('phrase-lines-train/dataset/lines.json'), 'utf8'));
    expect(phraseLines.lines).toHaveLength(48);
    expect(phraseLines.height).toBe(16);
    const csv = (await readFile(out('evaluate-phrases/report/per_phrase.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('file,truth,read,char_errors,chars,word_errors,words');
    const report = JSON.parse(await readFile(out('letters-from-phrases/report'), 'utf8'));
    expect(report.letters).toBeGreaterThan(50);
    expect(report.phrases_used + report.phrases_skipped).toBe(40);
    // Test phrases come only from test-split writers.
    const boxes = JSON.parse(await readFile(out('phrases/phrases/boxes.json'), 'utf8'));
    const testWriters = new Set(Object.values(boxes).map((b: any) => b.writer));
    const { parseNpz } = await import('../src/data/npz.js');
    const train = parseNpz(new Uint8Array(await readFile(join(DATA_DIR, 'nist-letters-train.npz'))), 'train', ['writers']);
    const trainWriters = new Set(train.writers.data as Int32Array);
    expect([...testWriters].some((w) => trainWriters.has(w as number))).toBe(false);
  });

  it('segmentation finds the letters and the word gap of real scanned ink', async () => {
    const { readGrayImage } = await import('../src/data/images.js');
    const seg = segmentPhrase(await readGrayImage(await scannedWord('hello')));
    expect(seg.segments).toHaveLength(5);
    expect(seg.segments.some((s) => s.spaceBefore)).toBe(false);
  });

  it('segmentation keeps narrow neighbours apart, gives i-dots to their stems, joins overlapping pieces and drops specks', () => {
    // Dark ink on white, drawn as rectangles: [x0, y0, x1, y1].
    const width = 200;
    const height = 60;
    const data = new Float32Array(width * height).fill(255);
    const ink = (x0: number, y0: number, x1: number, y1: number) => {
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * width + x] = 0;
    };
    ink(10, 20, 24, 44); // a letter
    ink(25, 26, 28, 44); // an i stem 1 px after it, with its dot
    ink(25, 14, 28, 17);
    ink(30, 20, 33, 44); // an l 2 px after the i
    ink(70, 20, 78, 44); // after a word gap: a letter broken in two overlapping pieces
    ink(76, 28, 86, 44);
    ink(150, 5, 152, 7); // a speck far from any letter
    const seg = segmentPhrase({ width, height, data });
    expect(seg.segments.map((s) => [s.box.x0, s.box.x1])).toEqual([[10, 24], [25, 28], [30, 33], [70, 86]]);
    expect(seg.segments[1].box.y0).toBe(14);
    expect(seg.segments.map((s) => s.spaceBefore)).toEqual([false, false, false, true]);
  });

  it('deskew finds and removes the slant of a skewed line', async () => {
    const { readGrayImage } = await import('../src/data/images.js');
    const straight = inkImage(await readGrayImage(join(ws, 'artifacts/phrases/phrases/phrases/images/00003.png')), 'auto');
    const skewed = deskew(straight, -6);
    expect(Math.abs(estimateSkew(straight))).toBeLessThanOrEqual(1);
    expect(Math.abs(estimateSkew(skewed) - 6)).toBeLessThanOrEqual(1);
    const toGray = (img: typeof straight) => ({ ...img, data: Float32Array.from(img.data, (v) => 255 - v) });
    expect(segmentPhrase(toGray(skewed)).segments.length).toBe(segmentPhrase(toGray(straight)).segments.length);
  });

  it('inkflow read reads a word written in real scanned letters', async () => {
    const file = await scannedWord('water');
    const r = await inkflow(ws, ['read', '--model', 'artifacts/quick/save-hdf5', '--json', file]);
    expect(r.exitCode).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.characters).toHaveLength(5);
    expect(result.characters[0].top).toHaveLength(3);
    expect(editDistance(result.text, 'water')).toBeLessThanOrEqual(3);
  });

  it('bad images give a clear error or an empty result with a reason, never a crash', async () => {
    await writeFile(join(ws, 'not-image.png'), 'hello');
    await writeFile(join(ws, 'empty.png'), '');
    await writeFile(join(ws, 'white.png'), await encodeGrayPng(200, 60, new Uint8Array(200 * 60).fill(255)));
    // A 20,000x20,000 PNG header: refused before any pixel is decoded.
    const huge = Buffer.from(await encodeGrayPng(4, 4, new Uint8Array(16).fill(255)));
    huge.writeUInt32BE(20000, 16);
    huge.writeUInt32BE(20000, 20);
    await writeFile(join(ws, 'huge.png'), huge);
    const r = await inkflow(ws, ['read', '--model', 'artifacts/quick/save-hdf5', 'not-image.png', 'empty.png', 'white.png', 'huge.png']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('not-image.png: not a decodable image');
    expect(r.stderr).toContain('empty.png: empty file, not an image');
    expect(r.stderr).toContain('huge.png: 20000x20000 is too large');
    expect(r.stdout).toContain('white.png\t\t(no ink found (the image is blank))');
  });
});
