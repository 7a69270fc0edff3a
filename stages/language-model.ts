/** Trains a character n-gram language model (interpolated Kneser-Ney) from transcriptions or a text corpus. */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readLineDataset } from '../src/lines/line-dataset.js';
import { CharNgram } from '../src/lines/char-ngram.js';
import { normalizeText } from '../src/lines/text-normalize.js';
import { pushAll } from '../src/util/arrays.js';

export const languageModelParams = StrictObject({
  order: Type.Integer({ minimum: 1, maximum: 12, default: 6 }),
  corpus: Type.Optional(Type.String({ description: 'a UTF-8 text file, one line per line of text (used with or instead of the dataset)' })),
});

export default defineStage<Static<typeof languageModelParams>>({
  description: 'character n-gram language model from the training transcriptions or a text corpus',
  version: 1,
  paramsSchema: languageModelParams,
  inputs: {
    dataset: { description: 'line dataset whose transcriptions train the model' },
    validation: { description: 'line dataset on which to report perplexity' },
  },
  outputs: ['lm'],
  fileParams: (p) => (p.corpus ? [p.corpus] : []),
  async run(ctx) {
    const texts: string[] = [];
    if (ctx.inputs.dataset) pushAll(texts, (await readLineDataset(ctx.inputs.dataset)).lines.map((l) => l.text));
    if (ctx.params.corpus) {
      const file = resolve(ctx.workspace, ctx.params.corpus);
      const raw = await readFile(file, 'utf8').catch((err: Error) => {
        throw new UserInputError(`${file}: ${err.message}; set language-model's corpus to a UTF-8 text file`);
      });
      pushAll(texts, raw.split(/\r?\n/).map((l) => normalizeText(l)).filter(Boolean));
    }
    if (!texts.length) throw new UserInputError('language-model: no text: wire inputs.dataset or set params.corpus');
    const lm = CharNgram.train(texts, { order: ctx.params.order });
    const metrics: Record<string, number> = { lines: texts.length, order: ctx.params.order };
    if (ctx.inputs.validation) {
      const validation = await readLineDataset(ctx.inputs.validation);
      metrics.validation_perplexity = lm.perplexity(validation.lines.map((l) => l.text));
      ctx.log.info(`validation perplexity ${metrics.validation_perplexity.toFixed(2)} per character`);
    }
    ctx.recordMetrics(metrics);
    await writeFile(ctx.output('lm'), JSON.stringify(lm.toJSON()));
  },
});
