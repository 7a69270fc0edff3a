/** Character and word error rates over a phrase set, per-phrase CSV, and images with boxes and the text read. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { readLabels } from '../src/phrases/phrase-set.js';
import { readPhraseReadings } from '../src/artifacts/phrase-readings.js';
import { editDistance } from '../src/util/text.js';
import { phraseOverlayPng } from '../src/viz/phrase-overlay.js';

const evaluatePhrasesParams = StrictObject({
  overlays: Type.Integer({ minimum: 0, default: 24 }),
});

export default defineStage<Static<typeof evaluatePhrasesParams>>({
  description: 'CER/WER of phrase reading, per phrase, with annotated images',
  version: 1,
  paramsSchema: evaluatePhrasesParams,
  inputs: {
    phrases: { description: 'phrase set with the true text', required: true },
    reading: { description: 'read-phrases.reading', required: true },
  },
  outputs: ['report'],
  async run(ctx) {
    const entries = await readLabels(ctx.input('phrases'));
    const reading = await readPhraseReadings(ctx.input('reading'));
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
        const png = await phraseOverlayPng(await readFile(join(ctx.input('phrases'), e.file)), reading[e.file], e.text, read, ce);
        await writeFile(join(out, 'overlays', e.file.replace(/^images\//, '')), png);
      }
    }
    const metrics = { phrases: entries.length, cer: charErrors / Math.max(chars, 1), wer: wordErrors / Math.max(words, 1), exact: exact / Math.max(entries.length, 1) };
    await writeFile(join(out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
    await writeFile(join(out, 'per_phrase.csv'), rows.join('\n') + '\n');
    ctx.log.info(`CER ${(metrics.cer * 100).toFixed(2)}%  WER ${(metrics.wer * 100).toFixed(2)}%  exact ${(metrics.exact * 100).toFixed(1)}% over ${entries.length} phrases`);
    ctx.recordMetrics(metrics);
  },
});
