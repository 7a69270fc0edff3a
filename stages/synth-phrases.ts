/** Synthesizes handwritten phrase images from one writer's letter images at a time. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readDataset } from '../src/data/dataset.js';
import { composePhrase, LetterIndex } from '../src/phrases/compose.js';
import { encodeGrayPng } from '../src/phrases/png.js';
import { labelsTsv, type PhraseEntry } from '../src/phrases/phrase-set.js';
import { loadWords } from '../src/phrases/words.js';
import { rng } from '../src/util/random.js';

const pair = (min: number, max: number, dflt: [number, number]) => Type.Tuple([Type.Number({ minimum: min, maximum: max }), Type.Number({ minimum: min, maximum: max })], { default: dflt });

const synthPhrasesParams = StrictObject({
  count: Type.Integer({ minimum: 1, default: 200 }),
  words_file: Type.Optional(Type.String({ description: 'text file of words (default: an English word list)' })),
  min_words: Type.Integer({ minimum: 1, default: 1 }),
  max_words: Type.Integer({ minimum: 1, default: 3 }),
  word_length: pair(1, 30, [2, 7]),
  max_length: Type.Integer({ minimum: 1, default: 24 }),
  height: Type.Integer({ minimum: 16, maximum: 512, default: 64 }),
  scale: Type.Number({ exclusiveMinimum: 0, default: 1.8 }),
  spacing: pair(-0.5, 2, [0.15, 0.45]),
  word_gap: pair(0, 10, [1.2, 1.8]),
  size_jitter: Type.Number({ minimum: 0, maximum: 0.5, default: 0.08 }),
  baseline_jitter: Type.Number({ minimum: 0, maximum: 0.3, default: 0.04 }),
  seed: Type.Integer({ default: 0 }),
});

export default defineStage<Static<typeof synthPhrasesParams>>({
  description: 'compose phrase images from letter images, one writer per phrase',
  version: 1,
  paramsSchema: synthPhrasesParams,
  inputs: { letters: { description: 'letter dataset (light ink on dark, with writer ids)', required: true } },
  outputs: ['phrases'],
  fileParams: (p) => (p.words_file ? [p.words_file] : []),
  async run(ctx) {
    const p = ctx.params;
    const letters = await readDataset(ctx.input('letters'));
    const classes = letters.meta.classes;
    const words = (await loadWords(p.words_file && resolve(ctx.workspace, p.words_file)))
      .map((w) => w.toLowerCase())
      .filter((w) => w.length >= p.word_length[0] && w.length <= p.word_length[1] && [...w].every((c) => classes.includes(c)));
    if (!words.length) throw new UserInputError(`synth-phrases: no usable words${p.words_file ? ` in ${p.words_file}` : ''} (letters ${classes.join('')}, lengths ${p.word_length.join('-')})`);
    const random = rng(p.seed);
    const index = new LetterIndex(letters);
    const writers = [...index.byWriter.keys()].sort((a, b) => a - b);
    const out = ctx.output('phrases');
    await mkdir(join(out, 'images'), { recursive: true });
    const entries: PhraseEntry[] = [];
    const boxes: Record<string, unknown> = {};
    for (let i = 0; i < p.count; i++) {
      const n = p.min_words + Math.floor(random() * (p.max_words - p.min_words + 1));
      const chosen: string[] = [];
      while (chosen.length < n) {
        const w = words[Math.floor(random() * words.length)]!; // words is not empty (checked above)
        if ([...chosen, w].join(' ').length > p.max_length && chosen.length) break;
        chosen.push(w);
      }
      const text = chosen.join(' ');
      const writer = writers[Math.floor(random() * writers.length)];
      if (writer === undefined) throw new UserInputError(`synth-phrases: ${ctx.input('letters')} has no samples`);
      const phrase = composePhrase(text, writer, index, classes, {
        height: p.height, scale: p.scale, sizeJitter: p.size_jitter, baselineJitter: p.baseline_jitter, spacing: p.spacing, wordGap: p.word_gap,
      }, random);
      const file = `images/${String(i).padStart(5, '0')}.png`;
      await writeFile(join(out, file), await encodeGrayPng(phrase.width, phrase.height, phrase.pixels));
      entries.push({ file, text });
      boxes[file] = { writer, boxes: phrase.boxes };
      if (i % 50 === 0) ctx.progress.update(`phrase ${i + 1}/${p.count}`);
    }
    await writeFile(join(out, 'labels.tsv'), labelsTsv(entries));
    await writeFile(join(out, 'boxes.json'), JSON.stringify(boxes));
    ctx.recordMetrics({ phrases: entries.length, writers: new Set(Object.values(boxes).map((b) => (b as { writer: number }).writer)).size });
  },
});
