/**
 * The line dataset artifact: every line image at one height and its own width,
 * concatenated in one uint8 file (`pixels.bin`, ink 255 on 0), with an index
 * (`lines.json`) giving each line's offset, width and transcription. About a
 * byte per pixel, and a line is a subarray, not a file to open.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserInputError } from '../errors.js';
import type { LineImage } from './line-image.js';
import { ruleErasureOf, type RuleErasureMeta } from './line-rules.js';

export const LINE_DATASET_FORMAT = 1;

export interface LineRecord {
  /** Stable id: the image file, or page#line for XML sources. */
  id: string;
  text: string;
  width: number;
  /** Byte offset in pixels.bin. */
  offset: number;
  writer?: string;
  split?: string;
}

export interface LineDatasetMeta extends RuleErasureMeta {
  format: number;
  height: number;
  count: number;
  /** Where the lines came from (for the run record and error messages). */
  sources: string[];
}

export interface LineDataset {
  meta: LineDatasetMeta;
  lines: LineRecord[];
  pixels: Uint8Array;
}

export function lineImage(ds: LineDataset, i: number): LineImage {
  const line = ds.lines[i]!;
  const height = ds.meta.height;
  return { width: line.width, height, data: ds.pixels.subarray(line.offset, line.offset + line.width * height) };
}

/** Builds a dataset from normalized lines (all of one height). */
export function assembleLineDataset(entries: { id: string; text: string; image: LineImage; writer?: string; split?: string }[], { height, sources, erase_rules, rule_erasure }: Pick<LineDatasetMeta, 'height' | 'sources' | 'erase_rules' | 'rule_erasure'>): LineDataset {
  let total = 0;
  for (const e of entries) {
    if (e.image.height !== height) throw new Error(`line ${e.id} has height ${e.image.height}, not ${height}`);
    total += e.image.width * height;
  }
  const pixels = new Uint8Array(total);
  const lines: LineRecord[] = [];
  let offset = 0;
  for (const e of entries) {
    pixels.set(e.image.data, offset);
    lines.push({ id: e.id, text: e.text, width: e.image.width, offset, ...(e.writer !== undefined ? { writer: e.writer } : {}), ...(e.split !== undefined ? { split: e.split } : {}) });
    offset += e.image.width * height;
  }
  return { meta: { format: LINE_DATASET_FORMAT, height, count: lines.length, sources, ...(erase_rules !== undefined ? { erase_rules } : {}), ...(rule_erasure !== undefined ? { rule_erasure } : {}) }, lines, pixels };
}

export async function writeLineDataset(dir: string, ds: LineDataset): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'pixels.bin'), ds.pixels);
  await writeFile(join(dir, 'lines.json'), JSON.stringify({ ...ds.meta, lines: ds.lines }) + '\n');
}

export async function readLineDataset(dir: string): Promise<LineDataset> {
  const indexFile = join(dir, 'lines.json');
  let index: LineDatasetMeta & { lines: LineRecord[] };
  try {
    index = JSON.parse(await readFile(indexFile, 'utf8'));
  } catch (err) {
    throw new UserInputError(`${indexFile}: not a line dataset (${(err as Error).message}); wire the output of load-lines here`);
  }
  if (index.format !== LINE_DATASET_FORMAT) throw new UserInputError(`${indexFile}: line dataset format ${index.format}, this inkflow reads ${LINE_DATASET_FORMAT}; rerun load-lines`);
  const pixels = new Uint8Array(await readFile(join(dir, 'pixels.bin')));
  const { lines, ...meta } = index;
  ruleErasureOf(meta, indexFile);
  const last = lines[lines.length - 1];
  if (last && last.offset + last.width * meta.height !== pixels.length) throw new UserInputError(`${join(dir, 'pixels.bin')}: ${pixels.length} bytes, but lines.json describes ${last.offset + last.width * meta.height}; the artifact is damaged: rerun load-lines with --force`);
  return { meta, lines, pixels };
}

/** The lines `keep` accepts, as a new dataset. */
export function selectLines(ds: LineDataset, keep: (line: LineRecord, index: number) => boolean): LineDataset {
  const entries = ds.lines.flatMap((l, i) => (keep(l, i) ? [{ id: l.id, text: l.text, image: lineImage(ds, i), writer: l.writer, split: l.split }] : []));
  return assembleLineDataset(entries, ds.meta);
}
