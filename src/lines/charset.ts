/**
 * The line model's alphabet: index 0 is the CTC blank, index i ≥ 1 is
 * `characters[i - 1]`. Written as JSON by the `charset` stage and carried inside
 * every line model, so a model and its alphabet cannot drift apart.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { UserInputError } from '../errors.js';
import { characters } from './text-normalize.js';

export const CHARSET_FORMAT = 1;

export interface Charset {
  format: number;
  characters: string[];
  /** How often each character occurs in the texts the charset was made from. */
  counts?: Record<string, number>;
}

/** Classes the model predicts: the blank plus one per character. */
export const classCount = (charset: Charset) => charset.characters.length + 1;

export function countCharacters(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) for (const c of characters(text)) counts.set(c, (counts.get(c) ?? 0) + 1);
  return counts;
}

/** Sorted by code point, so the same texts always give the same indices. */
export function charsetFromCounts(counts: Map<string, number>, minCount = 1): Charset {
  const chars = [...counts.entries()].filter(([, n]) => n >= minCount).map(([c]) => c).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  return { format: CHARSET_FORMAT, characters: chars, counts: Object.fromEntries(chars.map((c) => [c, counts.get(c)!])) };
}

export class CharsetEncoder {
  private readonly index = new Map<string, number>();

  constructor(readonly charset: Charset) {
    charset.characters.forEach((c, i) => this.index.set(c, i + 1));
  }

  /** Labels 1..K-1 for the text, or the characters the charset lacks. */
  encode(text: string): { labels: Int32Array; unknown: string[] } {
    const chars = characters(text);
    const labels = new Int32Array(chars.length);
    const unknown: string[] = [];
    chars.forEach((c, i) => {
      const k = this.index.get(c);
      if (k === undefined) unknown.push(c);
      else labels[i] = k;
    });
    return { labels, unknown };
  }

  decode(labels: ArrayLike<number>): string {
    let out = '';
    for (let i = 0; i < labels.length; i++) out += this.charset.characters[labels[i]! - 1] ?? '';
    return out;
  }
}

/** Characters of `texts` outside the charset, with their counts, most frequent first. */
export function outsideCharset(charset: Charset, texts: Iterable<string>): [string, number][] {
  const known = new Set(charset.characters);
  return [...countCharacters(texts).entries()].filter(([c]) => !known.has(c)).sort((a, b) => b[1] - a[1]);
}

export function describeCharacters(entries: [string, number][], limit = 12): string {
  const shown = entries.slice(0, limit).map(([c, n]) => `${JSON.stringify(c)} ×${n}`);
  return shown.join(', ') + (entries.length > limit ? `, and ${entries.length - limit} more` : '');
}

export async function writeCharset(file: string, charset: Charset): Promise<void> {
  await writeFile(file, JSON.stringify(charset, null, 1) + '\n');
}

export async function readCharset(file: string): Promise<Charset> {
  let parsed: Charset;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as Charset;
  } catch (err) {
    throw new UserInputError(`${file}: not a charset file (${(err as Error).message}); wire the output of the charset stage`);
  }
  if (parsed.format !== CHARSET_FORMAT || !Array.isArray(parsed.characters)) throw new UserInputError(`${file}: not a charset (format ${CHARSET_FORMAT} with a characters list); rerun the charset stage`);
  return parsed;
}
