/** Words for phrase synthesis and lexicon correction: a user's text file, or an English word list. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { UserInputError } from '../errors.js';

export async function loadWords(file?: string): Promise<string[]> {
  if (!file) return createRequire(import.meta.url)('an-array-of-english-words') as string[];
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UserInputError(`${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}; give a word list, one word per line`);
  });
  const words = text.split(/\s+/).filter(Boolean);
  if (!words.length) throw new UserInputError(`${file}: no words in it; give a word list, one word per line`);
  return words;
}
