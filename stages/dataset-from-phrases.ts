/** Turns phrase images and their transcriptions into a labelled letter dataset, aligning segmented crops to characters. */
import { writeFile } from 'node:fs/promises';
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { writeDataset } from '../src/data/dataset.js';
import { frameGlyph } from '../src/data/framing.js';
import { readLabels, readSegmentations, segmentedPhraseInk } from '../src/phrases/phrase-set.js';
import { crop } from '../src/phrases/segment.js';

const datasetFromPhrasesParams = StrictObject({
  classes: Type.String({ minLength: 1, default: 'abcdefghijklmnopqrstuvwxyz' }),
  size: Type.Integer({ minimum: 8, default: 28 }),
});

export default defineStage<Static<typeof datasetFromPhrasesParams>>({
  description: 'letter dataset from phrase images whose segmentation matches their text',
  version: 1,
  paramsSchema: datasetFromPhrasesParams,
  inputs: {
    phrases: { description: 'phrase images with labels.tsv', required: true },
    segments: { description: 'segment.segments', required: true },
  },
  outputs: ['dataset', 'report'],
  async run(ctx) {
    const classes = [...ctx.params.classes];
    const size = ctx.params.size;
    const segments = await readSegmentations(ctx.input('segments'));
    const images: Uint8Array[] = [];
    const labels: number[] = [];
    const skipped: { file: string; reason: string }[] = [];
    const entries = await readLabels(ctx.input('phrases'));
    for (const e of entries) {
      const letters = [...e.text.replace(/ /g, '')];
      const segs = segments[e.file]?.segments ?? [];
      const spaces = segs.filter((s) => s.spaceBefore).length;
      if (segs.length !== letters.length) {
        skipped.push({ file: e.file, reason: `${segs.length} segments for ${letters.length} letters` });
        continue;
      }
      if (spaces !== e.text.split(' ').length - 1) {
        skipped.push({ file: e.file, reason: `${spaces + 1} words segmented, text has ${e.text.split(' ').length}` });
        continue;
      }
      const unknown = letters.find((c) => !classes.includes(c.toLowerCase()));
      if (unknown) {
        skipped.push({ file: e.file, reason: `character "${unknown}" is not a class` });
        continue;
      }
      const ink = await segmentedPhraseInk(ctx.input('phrases'), e.file, segments[e.file]);
      segs.forEach((s, i) => {
        images.push(frameGlyph(crop(ink, s.box), size));
        labels.push(classes.indexOf(letters[i]!.toLowerCase())); // as many segments as letters, checked above
      });
    }
    if (!images.length) throw new UserInputError(`dataset-from-phrases: no phrase's segmentation matched its text (${skipped.length} skipped)`);
    const pixels = new Uint8Array(images.length * size * size);
    images.forEach((im, i) => pixels.set(im, i * size * size));
    await writeDataset(ctx.output('dataset'), {
      images: pixels,
      labels: Int32Array.from(labels),
      masks: {},
      meta: { count: images.length, sampleShape: [size, size], classes, scale: 1 / 255, polarity: 'light-on-dark', framed: true, masks: [], hasWriters: false, source: 'phrases' },
    });
    const used = entries.length - skipped.length;
    await writeFile(ctx.output('report'), JSON.stringify({ letters: images.length, phrases_used: used, phrases_skipped: skipped.length, skipped }, null, 2) + '\n');
    ctx.log.info(`${images.length} letters from ${used} phrases; ${skipped.length} skipped where segmentation disagreed with the text`);
    ctx.recordMetrics({ letters: images.length, phrases_skipped: skipped.length });
  },
});
