/** Character and word error rates over a phrase set, per-phrase CSV, and images with boxes and the text read. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, strictObject } from '../src/engine/stage-api.js';
import { readLabels } from '../src/phrases/phrase-set.js';
import type { ReadResult } from '../src/phrases/reader.js';
import { editDistance } from '../src/util/text.js';
import { FONT } from '../src/viz/chart.js';

export default defineStage<{ overlays: number }>({
  description: 'CER/WER of phrase reading, per phrase, with annotated images',
  version: 1,
  paramsSchema: strictObject({ properties: { overlays: { type: 'integer', minimum: 0, default: 24 } } }),
  inputs: {
    phrases: { description: 'phrase set with the true text', required: true },
    reading: { description: 'read-phrases.reading', required: true },
  },
  outputs: ['report'],
  async run(ctx) {
    const { createCanvas, loadImage } = await import('@napi-rs/canvas');
    const entries = await readLabels(ctx.inputs.phrases);
    const reading = JSON.parse(await readFile(ctx.inputs.reading, 'utf8')) as Record<string, ReadResult>;
    const out = ctx.output('report');
    await mkdir(join(out, 'overlays'), { recursive: true });
    let charErrors = 0, chars = 0, wordErrors = 0, words = 0, exact = 0;
    const rows = ['file,truth,read,char_errors,chars,word_errors,words'];
    for (const [i, e] of entries.entries()) {
      const read = reading[e.file]?.text ?? '';
      const ce = editDistance(read, e.text);
      const truthWords = e.text.split(' ');
      const we = editDistance(read.split(' ').filter(Boolean), truthWords);
      charErrors += ce;
      chars += e.text.length;
      wordErrors += we;
      words += truthWords.length;
      if (read === e.text) exact++;
      rows.push([e.file, e.text, read, ce, e.text.length, we, truthWords.length].join(','));
      if (i < ctx.params.overlays) {
        const image = await loadImage(await readFile(join(ctx.inputs.phrases, e.file)));
        const zoom = 2;
        const canvas = createCanvas(image.width * zoom, image.height * zoom + 64);
        const g = canvas.getContext('2d');
        g.fillStyle = '#fff';
        g.fillRect(0, 0, canvas.width, canvas.height);
        g.drawImage(image, 0, 0, image.width * zoom, image.height * zoom);
        g.lineWidth = 2;
        for (const c of reading[e.file]?.characters ?? []) {
          g.strokeStyle = c.confidence > 0.8 ? '#27ae60' : c.confidence > 0.5 ? '#e67e22' : '#c0392b';
          g.strokeRect(c.box.x0 * zoom, c.box.y0 * zoom, (c.box.x1 - c.box.x0) * zoom, (c.box.y1 - c.box.y0) * zoom);
          g.fillStyle = g.strokeStyle;
          g.font = `bold 14px ${FONT}`;
          g.fillText(c.letter, c.box.x0 * zoom + 2, c.box.y0 * zoom + 14);
        }
        g.font = `16px ${FONT}`;
        g.fillStyle = '#111';
        g.fillText(`truth: ${e.text}`, 6, image.height * zoom + 24);
        g.fillStyle = read === e.text ? '#27ae60' : '#c0392b';
        g.fillText(`read:  ${read}   (${ce} char errors)`, 6, image.height * zoom + 50);
        await writeFile(join(out, 'overlays', e.file.replace(/^images\//, '')), await canvas.encode('png'));
      }
    }
    const metrics = { phrases: entries.length, cer: charErrors / Math.max(chars, 1), wer: wordErrors / Math.max(words, 1), exact: exact / Math.max(entries.length, 1) };
    await writeFile(join(out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
    await writeFile(join(out, 'per_phrase.csv'), rows.join('\n') + '\n');
    ctx.log.info(`CER ${(metrics.cer * 100).toFixed(2)}%  WER ${(metrics.wer * 100).toFixed(2)}%  exact ${(metrics.exact * 100).toFixed(1)}% over ${entries.length} phrases`);
    ctx.recordMetrics(metrics);
  },
});
