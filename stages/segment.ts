/** Splits every phrase image into character boxes in reading order, with word gaps. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, StrictObject, StringEnum, Type, type Static } from '../src/engine/stage-api.js';
import { readLabels } from '../src/phrases/phrase-set.js';
import { segmentPhrase } from '../src/phrases/segment.js';
import { readGrayImage } from '../src/data/images.js';

const LETTER_SPACING = {
  apart: 'letters stand apart: overlapping pieces are one letter; only components far wider than a letter are cut',
  touching: 'letters may touch or overlap: cut wide components sooner, merge overlapping pieces less',
  unsplit: 'never cut a connected component (each is one letter)',
} as const;

const segmentParams = StrictObject({
  letters: StringEnum(['apart', 'touching', 'unsplit'] as const, {
    default: 'apart',
    description: Object.entries(LETTER_SPACING).map(([k, v]) => `${k}: ${v}`).join('; '),
  }),
});

export default defineStage<Static<typeof segmentParams>>({
  description: 'segment phrase images into characters (Otsu, components, fragment merge, touching-letter split)',
  version: 2,
  paramsSchema: segmentParams,
  inputs: { phrases: { description: 'phrase set (images + labels.tsv)', required: true } },
  outputs: ['segments'],
  async run(ctx) {
    const entries = await readLabels(ctx.input('phrases'));
    const result: Record<string, unknown> = {};
    const started = performance.now();
    let segmentSeconds = 0;
    for (const [i, e] of entries.entries()) {
      const img = await readGrayImage(join(ctx.input('phrases'), e.file));
      const t = performance.now();
      const seg = segmentPhrase(img, { splitTouching: ctx.params.letters !== 'unsplit', touching: ctx.params.letters === 'touching' });
      segmentSeconds += (performance.now() - t) / 1000;
      result[e.file] = { segments: seg.segments, skew: seg.skew, reason: seg.reason };
      if (i % 50 === 0) ctx.progress.update(`segmented ${i + 1}/${entries.length}`);
    }
    await writeFile(ctx.output('segments'), JSON.stringify(result));
    ctx.recordMetrics({ phrases: entries.length, segment_images_per_second: entries.length / segmentSeconds, images_per_second_with_decoding: entries.length / ((performance.now() - started) / 1000) });
  },
});
