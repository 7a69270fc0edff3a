/** Words for phrase synthesis and lexicon correction: a user's text file, or an English word list. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

export async function loadWords(file?: string): Promise<string[]> {
  if (file) return (await readFile(file, 'utf8')).split(/\s+/).filter(Boolean);
  return createRequire(import.meta.url)('an-array-of-english-words') as string[];
}
