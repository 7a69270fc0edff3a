import { collectImages, readGrayImage } from '../../data/images.js';
import { Recognizer } from '../../ml/recognizer.js';
import { Lexicon, readImage } from '../../phrases/reader.js';
import { loadWords } from '../../phrases/words.js';
import { integerOption, parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { findModel, modelFolder } from '../../ml/model-source.js';
import { isLineModel } from '../../lines/line-model-artifact.js';
import { readWithLineModel } from './read-lines.js';

const HELP = `usage: inkflow read --model <model> <image or folder>... [options]

Reads handwriting as text. With a line model (train-lines, save-hdf5 of lines.yaml):
line images or whole pages, whose lines are found first.
  --layout auto|line|page   treat each image as one line or as a page (auto: by its shape)
  --lm FILE                 character language model (the lm output of a language-model stage)
  --words FILE              lexicon, one word per line
  --beam N                  beam width with --lm/--words (default 10)
  --json                    each line's box, text, confidence and per-character positions
  --alto, --page            write <image>.alto.xml / <image>.page.xml (eScriptorium imports both)
  --out DIR                 where --alto/--page write (default: the current folder)
With a letter model: segmented phrases, read letter by letter.
  --lexicon   correct each word to the most probable dictionary word nearby
  --words     word list for --lexicon (default: an English word list)
  --json      per-character boxes, confidence and top-3`;

export async function readCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('read', args, { model: { type: 'string' }, labels: { type: 'string' }, lexicon: { type: 'boolean' }, words: { type: 'string' }, json: { type: 'boolean' }, layout: { type: 'string' }, lm: { type: 'string' }, beam: { type: 'string' }, alto: { type: 'boolean' }, page: { type: 'boolean' }, out: { type: 'string' } }, HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (!values.model || !positionals.length) throw new UsageError(`read needs --model and at least one image\n\n${HELP}`);
  const files = await collectImages(positionals);
  if (!files.length) throw new UsageError(`read: no PNG or JPEG images in ${positionals.join(', ')}`);
  const modelPath = modelFolder(await findModel(values.model));
  if (isLineModel(modelPath)) {
    const layout = values.layout ?? 'auto';
    if (!['auto', 'line', 'page'].includes(layout)) throw new UsageError(`read: --layout must be auto, line or page (got ${layout})`);
    const beam = integerOption('read', 'beam', values.beam, { min: 1 }) ?? 10;
    return readWithLineModel(modelPath, files, { layout: layout as 'auto' | 'line' | 'page', json: !!values.json, alto: !!values.alto, pageXml: !!values.page, beam, ...(values.out ? { out: values.out } : {}), ...(values.lm ? { lm: values.lm } : {}), ...(values.words ? { words: values.words } : {}) });
  }
  const recognizer = await Recognizer.open(values.model, { labelsPath: values.labels });
  const lexicon = values.lexicon ? new Lexicon(await loadWords(values.words)) : undefined;
  let failures = 0;
  for (const file of files) {
    try {
      const result = readImage(recognizer, await readGrayImage(file), lexicon);
      if (values.json) process.stdout.write(JSON.stringify({ file, ...result }) + '\n');
      else process.stdout.write(`${file}\t${result.text}${result.reason ? `\t(${result.reason})` : ''}\n`);
    } catch (err) {
      failures++;
      process.stderr.write(`inkflow: ${(err as Error).message}\n`);
    }
  }
  return failures ? 1 : 0;
}
