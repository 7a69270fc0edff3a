/** Reads a phrase image as text: segmentation, per-glyph recognition, optional lexicon correction. */
import { crop, segmentPhrase, type Segmentation } from './segment.js';
import { Recognizer, type Prediction } from '../ml/recognizer.js';
import type { GrayImage, Box } from '../data/framing.js';
import { editDistance } from '../util/text.js';
import { InternalError } from '../errors.js';

export interface ReadResult {
  text: string;
  characters: { box: Box; letter: string; confidence: number; top: Prediction['top']; spaceBefore: boolean }[];
  reason?: string;
}

export function readSegmented(recognizer: Recognizer, seg: Segmentation, lexicon?: Lexicon): ReadResult {
  if (!seg.segments.length) return { text: '', characters: [], reason: seg.reason ?? 'no characters found' };
  const predictions = recognizer.predictPrepared(seg.segments.map((s) => Recognizer.prepareInk(crop(seg.ink, s.box))), lexicon ? recognizer.classes.length : 3);
  const characters = seg.segments.map((s, i) => {
    const p = predictions[i];
    if (!p) throw new InternalError(`the recognizer returned ${predictions.length} predictions for ${seg.segments.length} characters`);
    return { box: s.box, letter: p.letter, confidence: p.confidence, top: p.top, spaceBefore: s.spaceBefore };
  });
  const shown = characters.map((c) => ({ ...c, top: c.top.slice(0, 3) }));
  const words: (typeof characters)[] = [];
  for (const c of characters) {
    const word = words.at(-1);
    if (c.spaceBefore || !word) words.push([c]);
    else word.push(c);
  }
  const text = words.map((w) => (lexicon ? lexicon.correct(w) : w.map((c) => c.letter).join(''))).join(' ');
  return { text, characters: shown };
}

export function readImage(recognizer: Recognizer, img: GrayImage, lexicon?: Lexicon): ReadResult {
  return readSegmented(recognizer, segmentPhrase(img), lexicon);
}

/**
 * Word-level correction: among lexicon words of the same length, the one
 * the recognizer finds most probable, letter by letter; kept only when it is
 * close in edit distance to what was read.
 */
export class Lexicon {
  private readonly byLength = new Map<number, string[]>();

  constructor(words: Iterable<string>) {
    for (const w of words) {
      const lower = w.toLowerCase();
      if (!/^[a-z]+$/.test(lower)) continue;
      (this.byLength.get(lower.length) ?? this.byLength.set(lower.length, []).get(lower.length)!).push(lower);
    }
  }

  correct(chars: { letter: string; top: { letter: string; probability: number }[] }[]): string {
    const read = chars.map((c) => c.letter).join('');
    const candidates = this.byLength.get(read.length) ?? [];
    let best = read;
    let bestScore = -Infinity;
    for (const word of candidates) {
      if (editDistance(word, read) > Math.max(1, Math.floor(read.length / 3))) continue;
      let score = 0;
      for (let i = 0; i < word.length; i++) {
        const p = chars[i]?.top.find((t) => t.letter === word[i])?.probability ?? 1e-4;
        score += Math.log(p);
      }
      if (score > bestScore) [best, bestScore] = [word, score];
    }
    return best;
  }
}
