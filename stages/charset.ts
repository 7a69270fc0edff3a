/**
 * The line model's alphabet, from the training transcriptions or a given list:
 * the counterpart of write-labels for line models. Characters of the other
 * datasets wired in that fall outside it are reported, never silently dropped.
 */
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readLineDataset } from '../src/lines/line-dataset.js';
import { charsetFromCounts, countCharacters, describeCharacters, outsideCharset, writeCharset, CHARSET_FORMAT, type Charset } from '../src/lines/charset.js';
import { characters } from '../src/lines/text-normalize.js';

export const charsetParams = StrictObject({
  characters: Type.Optional(Type.String({ minLength: 1, description: "use exactly these characters instead of the training texts' (a space included if wanted)" })),
  min_count: Type.Integer({ minimum: 1, default: 1, description: 'drop characters seen fewer times in training (their lines then fail train-lines, which names them)' }),
});

export default defineStage<Static<typeof charsetParams>>({
  description: 'the characters a line model reads, from the training transcriptions or a given list',
  version: 1,
  paramsSchema: charsetParams,
  inputs: {
    dataset: { description: 'training lines', required: true },
    check: { description: 'another line dataset (validation, test) whose characters outside the charset are reported' },
  },
  outputs: ['charset'],
  async run(ctx) {
    const train = await readLineDataset(ctx.input('dataset'));
    const counts = countCharacters(train.lines.map((l) => l.text));
    let charset: Charset;
    if (ctx.params.characters) {
      const given = [...new Set(characters(ctx.params.characters.normalize('NFC')))];
      charset = { format: CHARSET_FORMAT, characters: given, counts: Object.fromEntries(given.map((c) => [c, counts.get(c) ?? 0])) };
    } else charset = charsetFromCounts(counts, ctx.params.min_count);
    if (!charset.characters.length) throw new UserInputError('charset: no characters (are the training transcriptions empty?)');
    const outsideTrain = outsideCharset(charset, train.lines.map((l) => l.text));
    if (outsideTrain.length) ctx.log.warn(`training texts use ${outsideTrain.length} characters outside the charset: ${describeCharacters(outsideTrain)}; train-lines will refuse those lines: add the characters, or map them in load-lines' text.map`);
    if (ctx.inputs.check) {
      const other = await readLineDataset(ctx.inputs.check);
      const outside = outsideCharset(charset, other.lines.map((l) => l.text));
      const total = outside.reduce((s, [, n]) => s + n, 0);
      if (outside.length) ctx.log.warn(`${total} characters of ${other.meta.sources.join(', ')} are outside the charset and can never be read: ${describeCharacters(outside)}`);
      ctx.recordMetrics({ check_characters_outside: total });
    }
    ctx.log.info(`${charset.characters.length} characters: ${charset.characters.join('')}`);
    ctx.recordMetrics({ characters: charset.characters.length });
    await writeCharset(ctx.output('charset'), charset);
  },
});
