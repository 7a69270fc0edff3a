/**
 * Where line images and their transcriptions come from: a TSV/CSV of
 * `file,text` (with optional `writer` and `split` columns), ALTO or PAGE XML
 * with their page images (each line cut out by its polygon), or a phrase set
 * from `synth-phrases`. Each entry names its source file and line so errors
 * can point at it.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join } from 'node:path';
import { existsSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { UserInputError } from '../errors.js';
import { readGrayImage } from '../data/images.js';
import type { GrayImage } from '../data/framing.js';
import { readLineXml } from './xml-lines.js';
import { cropLine } from './line-crop.js';

export interface LineSourceEntry {
  /** Absolute path of the line (or page) image. */
  image: string;
  /** Decodes the line image, dark ink on light paper. */
  load(): Promise<GrayImage>;
  text: string;
  writer?: string;
  split?: string;
  /** `file:line` of the entry, for messages. */
  where: string;
  /** Stable id within the dataset. */
  id: string;
}

/**
 * Rows of a TSV (tab-separated, no quoting, as Kraken/PyLaia ground truth) or
 * CSV (RFC 4180 quoting) with a header naming `file` and `text`.
 */
export async function readLineTable(file: string, imagesDir?: string): Promise<LineSourceEntry[]> {
  const raw = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UserInputError(`${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}; set load-lines' path to your file,text table`);
  });
  const rows = extname(file).toLowerCase() === '.csv' ? parseCsvRows(raw, file) : raw.replace(/\r/g, '').split('\n').map((l) => l.split('\t'));
  const header = (rows[0] ?? []).map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  if (col('file') < 0 || col('text') < 0) throw new UserInputError(`${file}:1: the header must name the columns "file" and "text" (found ${header.map((h) => JSON.stringify(h)).join(', ') || 'nothing'})`);
  const base = imagesDir ?? dirname(file);
  const fallback = join(dirname(file), 'images');
  const entries: LineSourceEntry[] = [];
  rows.slice(1).forEach((row, i) => {
    if (row.length === 1 && row[0] === '') return;
    const where = `${file}:${i + 2}`;
    const name = row[col('file')]?.trim();
    if (!name) throw new UserInputError(`${where}: no file name in the "file" column`);
    const image = isAbsolute(name) ? name : existsSync(join(base, name)) || imagesDir ? join(base, name) : join(fallback, name);
    const writer = col('writer') >= 0 ? row[col('writer')] : undefined;
    const split = col('split') >= 0 ? row[col('split')] : undefined;
    entries.push({ image, load: () => readLineImage(image, where), text: row[col('text')] ?? '', where, id: name, ...(writer ? { writer } : {}), ...(split ? { split } : {}) });
  });
  return entries;
}

function parseCsvRows(raw: string, file: string): string[][] {
  try {
    return parseCsv(raw, { relax_column_count: true, skip_empty_lines: true }) as string[][];
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new UserInputError(`${file}${e.lines ? `:${e.lines}` : ''}: not valid CSV (${e.message}); quote fields that hold commas or quotes`);
  }
}

/** Decodes a line image file; a missing file names the table row that lists it. */
export async function readLineImage(image: string, where: string): Promise<GrayImage> {
  try {
    return await readGrayImage(image);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserInputError(`${where}: ${e.code === 'ENOENT' ? `image ${image} not found` : e.message}; fix the file column or the images param`);
  }
}

/** XML files named directly, or every .xml in a folder (sorted). */
export async function xmlFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UserInputError(`${path}: no such file or folder; set load-lines' path to an ALTO/PAGE XML file or a folder of them`);
  if (!info.isDirectory()) return [path];
  const files = (await readdir(path)).filter((f) => extname(f).toLowerCase() === '.xml').sort();
  if (!files.length) throw new UserInputError(`${path}: no .xml files in this folder`);
  return files.map((f) => join(path, f));
}

/**
 * Lines of ALTO/PAGE XML pages: each line is cut from its page image by its
 * polygon (outside pixels become paper). Lines of one page share one decoded
 * page, released when the next page starts.
 */
export async function readXmlLines(path: string, emptyText: 'error' | 'skip'): Promise<LineSourceEntry[]> {
  const entries: LineSourceEntry[] = [];
  let current: { image: string; page: Promise<GrayImage> } | undefined;
  const pageImage = (image: string, where: string) => {
    if (current?.image !== image) current = { image, page: readLineImage(image, where) };
    return current.page;
  };
  for (const file of await xmlFiles(path)) {
    const page = await readLineXml(file, { emptyText: emptyText === 'skip' ? 'flag' : 'error' });
    if (!existsSync(page.imagePath)) throw new UserInputError(`${file}: the page image ${page.imagePath} it names is missing; put it beside the XML or fix the file name in the XML`);
    for (const line of page.lines) {
      const where = `${file}:${line.sourceLine}`;
      entries.push({
        image: page.imagePath,
        load: async () => cropLine(await pageImage(page.imagePath, where), line.polygon),
        text: line.emptyText ? '' : line.text,
        where,
        id: `${basename(file)}#${line.id}`,
      });
    }
  }
  return entries;
}
