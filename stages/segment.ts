/** Splits every phrase image into character boxes in reading order, with word gaps. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, strictObject } from '../src/engine/stage-api.js';
import { readLabels } from '../src/phrases/phrase-set.js';
import { segmentPhrase } from '../src/phrases/segment.js';
import { readGrayImage } from '../src/data/images.js';

export default defineStage<{ split_touching: boolean; touching: boolean }>({
  description: 'segment phrase images into characters (Otsu, components, fragment merge, touching-letter split)',
  version: 2,
  paramsSchema: strictObject({
    properties: {
      split_touching: { type: 'boolean', default: true },
      touching: { type: 'boolean', default: false, description: 'letters may touch or overlap (cut wide components sooner, merge overlapping pieces less)' },
    },
  }),
  inputs: { phrases: { description: 'phrase set (images + labels.tsv)', required: true } },
  outputs: ['segments'],
  async run(ctx) {
    const entries = await readLabels(ctx.inputs.phrases);
    const result: Record<string, unknown> = {};
    const started = performance.now();
    let segmentSeconds = 0;
    for (const [i, e] of entries.entries()) {
      const img = await readGrayImage(join(ctx.inputs.phrases, e.file));
      const t = performance.now();
      const seg = segmentPhrase(img, { splitTouching: ctx.params.split_touching, touching: ctx.params.touching });
      segmentSeconds += (performance.now() - t) / 1000;
      result[e.file] = { segments: seg.segments, skew: seg.skew, reason: seg.reason };
      if (i % 50 === 0) ctx.progress.update(`segmented ${i + 1}/${entries.length}`);
    }
    await writeFile(ctx.output('segments'), JSON.stringify(result));
    ctx.recordMetrics({ phrases: entries.length, segment_images_per_second: entries.length / segmentSeconds, images_per_second_with_decoding: entries.length / ((performance.now() - started) / 1000) });
  },
});
