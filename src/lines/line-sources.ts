/**
 * Where line images and their transcriptions come from: a TSV/CSV of
 * `file,text` (with optional `writer` and `split` columns), or a phrase set
 * from `synth-phrases`. Each entry names its source file and line so errors
 * can point at it.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join } from 'node:path';
import { existsSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { StageInputError as UserInputError } from '../engine/stage-api.js';

export interface LineSourceEntry {
  /** Absolute path of the line image. */
  image: string;
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
    entries.push({ image, text: row[col('text')] ?? '', where, id: name, ...(writer ? { writer } : {}), ...(split ? { split } : {}) });
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
