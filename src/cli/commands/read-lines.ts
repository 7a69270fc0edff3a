/** `inkflow read` with a line model: line images or whole pages to text, JSON, ALTO or PAGE XML. */
import { readFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { loadTf } from '../../ml/tf.js';
import { resolveBackendName } from '../../ml/backend-name.js';
import { LineModelRunner } from '../../lines/line-reader.js';
import { readLines, type LineResult } from '../../lines/page-reader.js';
import { startFindingLines, type FoundLines } from '../../lines/line-finder-pool.js';
import { readLineModelMeta } from '../../lines/line-model-artifact.js';
import { DEFAULT_DECODER, type DecoderModels } from '../../lines/line-decoder.js';
import { CharNgram } from '../../lines/char-ngram.js';
import { WordTrie } from '../../lines/lexicon.js';
import { loadWords } from '../../phrases/words.js';
import { writeLineXml } from '../../lines/xml-write.js';
import { UserInputError } from '../../errors.js';
import { StatusLine } from '../status-line.js';

export interface ReadLinesOptions {
  layout: 'auto' | 'line' | 'page';
  json: boolean;
  alto: boolean;
  pageXml: boolean;
  out?: string;
  lm?: string;
  words?: string;
  beam: number;
}

/** Lines read in one pass: tfjs' per-call cost is paid once per batch, and more lines group into batches of more even widths (less padding). */
const BATCH_LINES = 256;

type Found = Exclude<FoundLines, { error: string }>;

export async function readWithLineModel(modelDir: string, files: string[], o: ReadLinesOptions): Promise<number> {
  // The lines are found on worker threads while tfjs and the model load.
  const finder = startFindingLines(files, { layout: o.layout, model: await readLineModelMeta(modelDir) });
  try {
    return await readFound(modelDir, finder.results(), files.length, o);
  } finally {
    await finder.close();
  }
}

async function readFound(modelDir: string, found: AsyncIterable<[string, FoundLines]>, fileCount: number, o: ReadLinesOptions): Promise<number> {
  const status = new StatusLine();
  status.update('loading the model…', true);
  const tf = await loadTf(resolveBackendName('auto'));
  const runner = await LineModelRunner.open(tf, modelDir);
  const models: DecoderModels = {};
  if (o.lm) models.lm = await readLanguageModel(o.lm);
  if (o.words) models.lexicon = WordTrie.fromWords(await loadWords(o.words));
  const settings = { ...DEFAULT_DECODER, method: models.lm || models.lexicon ? ('beam' as const) : ('greedy' as const), beam_width: o.beam };
  let failures = 0;
  // Read the lines found in batches of at least BATCH_LINES: one pass over many lines is much
  // cheaper per line than one per image. Only the small normalized lines are kept.
  let pending: ({ file: string } & Found)[] = [];
  let pendingLines = 0;
  let filesDone = 0;
  let linesRead = 0;
  const flush = async () => {
    status.update(`reading ${pendingLines} lines (${filesDone}/${fileCount} files)…`, true);
    const results = readLines(runner, pending.map((c) => c.lines), settings, models);
    status.clear();
    for (const [i, { file, size }] of pending.entries()) await report(file, size, results[i]!, o);
    linesRead += pendingLines;
    pending = [];
    pendingLines = 0;
  };
  for await (const [file, lines] of found) {
    filesDone++;
    status.update(`finding lines: ${filesDone}/${fileCount} files${linesRead ? `, ${linesRead} lines read` : ''}…`);
    if ('error' in lines) {
      status.clear();
      failures++;
      process.stderr.write(`inkflow: ${lines.error}\n`);
      continue;
    }
    pending.push({ file, ...lines });
    pendingLines += lines.lines.length;
    if (pendingLines >= BATCH_LINES) await flush();
  }
  if (pending.length) await flush();
  runner.dispose();
  return failures ? 1 : 0;
}

async function readLanguageModel(file: string): Promise<CharNgram> {
  try {
    return CharNgram.fromJSON(JSON.parse(await readFile(file, 'utf8')), file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? `${file}: no such file` : e instanceof SyntaxError ? `${file}: not JSON` : e.message;
    throw new UserInputError(`${why}; --lm takes the lm file of a language-model stage (artifacts/<pipeline>/language-model/lm)`);
  }
}

async function report(file: string, size: Found['size'], lines: LineResult[], o: ReadLinesOptions): Promise<void> {
  if (o.json) process.stdout.write(JSON.stringify({ file, width: size.width, height: size.height, lines }) + '\n');
  else if (lines.length === 1 && !o.alto && !o.pageXml) process.stdout.write(`${file}\t${lines[0]!.text}\n`);
  else if (!o.alto && !o.pageXml) process.stdout.write(`# ${file}\n${lines.map((l) => l.text).join('\n')}\n`);
  for (const [enabled, format, suffix] of [[o.alto, 'alto', '.alto.xml'], [o.pageXml, 'page', '.page.xml']] as const) {
    if (!enabled) continue;
    const target = join(resolve(o.out ?? '.'), basename(file, extname(file)) + suffix);
    await writeLineXml(target, {
      imagePath: resolve(file),
      width: size.width,
      height: size.height,
      lines: lines.map((l) => ({ box: l.box, polygon: l.polygon, ...(l.baseline ? { baseline: l.baseline } : {}), text: l.text, confidence: l.confidence, glyphs: l.chars.map((c) => ({ char: c.char, x0: c.x0, x1: c.x1, confidence: c.confidence })) })),
    }, format);
    process.stderr.write(`${file}: ${lines.length} lines → ${target}\n`);
  }
}
