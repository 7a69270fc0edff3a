import { collectImages, readGrayImage } from '../../data/images.js';
import { Recognizer } from '../../ml/recognizer.js';
import { Lexicon, readImage } from '../../phrases/reader.js';
import { loadWords } from '../../phrases/words.js';
import { parseCommandArgs, UsageError } from '../main.js';

const HELP = `usage: inkflow read --model <model> <image or folder>... [--lexicon [--words file]] [--json]

Reads handwritten phrases (dark ink on paper or light on dark, any size) as text.
  --lexicon   correct each word to the most probable dictionary word nearby
  --words     word list for --lexicon (default: an English word list)
  --json      per-character boxes, confidence and top-3`;

export async function readCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('read', args, { model: { type: 'string' }, labels: { type: 'string' }, lexicon: { type: 'boolean' }, words: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (!values.model || !positionals.length) throw new UsageError(`read needs --model and at least one image\n\n${HELP}`);
  const files = await collectImages(positionals);
  if (!files.length) throw new UsageError(`read: no PNG or JPEG images in ${positionals.join(', ')}`);
  const recognizer = await Recognizer.open(values.model, values.labels);
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
