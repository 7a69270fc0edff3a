/** The phrase-readings artifact (`read-phrases.reading`): what the reader made of each phrase image, by file. */
import { readFile, writeFile } from 'node:fs/promises';
import type { ReadResult } from '../phrases/reader.js';

export type PhraseReadings = Record<string, ReadResult>;

export async function writePhraseReadings(file: string, readings: PhraseReadings): Promise<void> {
  await writeFile(file, JSON.stringify(readings));
}

export async function readPhraseReadings(file: string): Promise<PhraseReadings> {
  return JSON.parse(await readFile(file, 'utf8')) as PhraseReadings;
}
