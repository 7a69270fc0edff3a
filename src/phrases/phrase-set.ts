/** A phrase set artifact: images/NNNN.png, labels.tsv (file, text) and boxes.json. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readGrayImage } from '../data/images.js';
import type { GrayImage } from '../data/framing.js';
import { segmentedInk, type Segmentation } from './segment.js';

export interface PhraseEntry {
  file: string;
  text: string;
}

export async function readLabels(dir: string): Promise<PhraseEntry[]> {
  const text = await readFile(join(dir, 'labels.tsv'), 'utf8');
  return text.split('\n').slice(1).filter(Boolean).map((line) => {
    const [file = '', ...rest] = line.split('\t');
    return { file, text: rest.join('\t') };
  });
}

export function labelsTsv(entries: PhraseEntry[]): string {
  return ['file\ttext', ...entries.map((e) => `${e.file}\t${e.text}`)].join('\n') + '\n';
}

/** A segment stage output as stored: each phrase's segmentation without its ink image. */
export type StoredSegmentation = Omit<Segmentation, 'ink'>;

export async function readSegmentations(file: string): Promise<Record<string, StoredSegmentation>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, StoredSegmentation>;
}

/** The ink image a phrase's stored segment boxes refer to (polarity fixed, deskewed as segmented). */
export async function segmentedPhraseInk(phrasesDir: string, file: string, segmentation: StoredSegmentation | undefined): Promise<GrayImage> {
  return segmentedInk(await readGrayImage(join(phrasesDir, file)), segmentation?.skew ?? 0);
}
