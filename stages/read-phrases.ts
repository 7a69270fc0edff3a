/** Reads segmented phrase images as text with a letter model; optional lexicon correction. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { defineStage, strictObject } from '../src/engine/stage-api.js';
import { readLabels, readSegmentations, segmentedPhraseInk } from '../src/phrases/phrase-set.js';
import { Lexicon, readSegmented } from '../src/phrases/reader.js';
import { loadWords } from '../src/phrases/words.js';
import { Recognizer } from '../src/ml/recognizer.js';
import { numericEnvironment, stageBackend } from '../src/ml/numeric-environment.js';

export default defineStage<{ lexicon: boolean; words_file?: string }>({
  description: 'recognize the characters of segmented phrases and join them into text',
  version: 1,
  environment: numericEnvironment,
  paramsSchema: strictObject({
    properties: { lexicon: { type: 'boolean', default: false }, words_file: { type: 'string' } },
  }),
  inputs: {
    model: { description: 'letter model', required: true },
    phrases: { description: 'phrase set', required: true },
    segments: { description: 'segment.segments', required: true },
  },
  outputs: ['reading'],
  fileParams: (p) => (p.words_file ? [p.words_file] : []),
  async run(ctx) {
    const recognizer = await Recognizer.open(ctx.inputs.model, { backend: stageBackend(ctx) });
    const lexicon = ctx.params.lexicon ? new Lexicon(await loadWords(ctx.params.words_file && resolve(ctx.workspace, ctx.params.words_file))) : undefined;
    const segments = await readSegmentations(ctx.inputs.segments);
    const out: Record<string, unknown> = {};
    const entries = await readLabels(ctx.inputs.phrases);
    for (const [i, e] of entries.entries()) {
      const ink = await segmentedPhraseInk(ctx.inputs.phrases, e.file, segments[e.file]);
      out[e.file] = readSegmented(recognizer, { ...segments[e.file], ink }, lexicon);
      if (i % 50 === 0) ctx.progress.update(`read ${i + 1}/${entries.length}`);
    }
    await writeFile(ctx.output('reading'), JSON.stringify(out));
  },
});
