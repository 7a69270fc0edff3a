/** A phrase set artifact: images/NNNN.png, labels.tsv (file, text) and boxes.json. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface PhraseEntry {
  file: string;
  text: string;
}

export async function readLabels(dir: string): Promise<PhraseEntry[]> {
  const text = await readFile(join(dir, 'labels.tsv'), 'utf8');
  return text.split('\n').slice(1).filter(Boolean).map((line) => {
    const [file, ...rest] = line.split('\t');
    return { file, text: rest.join('\t') };
  });
}

export function labelsTsv(entries: PhraseEntry[]): string {
  return ['file\ttext', ...entries.map((e) => `${e.file}\t${e.text}`)].join('\n') + '\n';
}
