/** Reads segmented phrase images as text with a letter model; optional lexicon correction. */
import { resolve } from 'node:path';
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { readLabels, readSegmentations, segmentedPhraseInk } from '../src/phrases/phrase-set.js';
import { Lexicon, readSegmented } from '../src/phrases/reader.js';
import { loadWords } from '../src/phrases/words.js';
import { writePhraseReadings, type PhraseReadings } from '../src/artifacts/phrase-readings.js';
import { Recognizer } from '../src/ml/recognizer.js';
import { numericEnvironment, stageBackend } from '../src/ml/numeric-environment.js';
import { UserInputError } from '../src/errors.js';

const readPhrasesParams = StrictObject({
  lexicon: Type.Boolean({ default: false }),
  words_file: Type.Optional(Type.String()),
});

export default defineStage<Static<typeof readPhrasesParams>>({
  description: 'recognize the characters of segmented phrases and join them into text',
  version: 1,
  environment: numericEnvironment,
  paramsSchema: readPhrasesParams,
  inputs: {
    model: { description: 'letter model', required: true },
    phrases: { description: 'phrase set', required: true },
    segments: { description: 'segment.segments', required: true },
  },
  outputs: ['reading'],
  fileParams: (p) => (p.words_file ? [p.words_file] : []),
  async run(ctx) {
    const recognizer = await Recognizer.open(ctx.input('model'), { backend: stageBackend(ctx) });
    const lexicon = ctx.params.lexicon ? new Lexicon(await loadWords(ctx.params.words_file && resolve(ctx.workspace, ctx.params.words_file))) : undefined;
    const segments = await readSegmentations(ctx.input('segments'));
    const out: PhraseReadings = {};
    const entries = await readLabels(ctx.input('phrases'));
    for (const [i, e] of entries.entries()) {
      const stored = segments[e.file];
      if (!stored) throw new UserInputError(`read-phrases: ${ctx.input('segments')} has no segmentation of ${e.file}; wire the segments made from these phrases`);
      const ink = await segmentedPhraseInk(ctx.input('phrases'), e.file, stored);
      out[e.file] = readSegmented(recognizer, { ...stored, ink }, lexicon);
      if (i % 50 === 0) ctx.progress.update(`read ${i + 1}/${entries.length}`);
    }
    await writePhraseReadings(ctx.output('reading'), out);
  },
});
