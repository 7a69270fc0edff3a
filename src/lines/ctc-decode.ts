/**
 * CTC decoding of one line's model output: greedy (best path) and prefix beam search with optional
 * character language model (shallow fusion) and lexicon. Plain Float32Arrays, no tfjs.
 * Layout: row-major [T, K] natural-log probabilities, class 0 the blank, class k the character charset[k - 1].
 */
import { BLANK, checkShape, ctcLogLikelihood, forcedAlignment, logAddExp } from './ctc-align.js';
import { graphemes, isLetter } from './graphemes.js';
import { NO_NODE, type WordTrie } from './lexicon.js';

export interface DecodedChar {
  char: string;
  /** First and last frame of the character in the best frame path (the caller maps frames to pixels). */
  frame: number;
  lastFrame: number;
  /** The character's highest per-frame probability over those frames. */
  probability: number;
}

export interface Reading {
  text: string;
  /** The classes of the text, 1..K-1. */
  labels: number[];
  /** P(text | image): the exact CTC probability of the whole reading, summed over its frame paths. */
  confidence: number;
  chars: DecodedChar[];
}

/** Best path decoding: the most probable class per frame, repeats collapsed, blanks dropped. */
export function greedyDecode(logProbs: Float32Array, T: number, K: number, charset: readonly string[]): Reading {
  checkShape(logProbs, T, K, charset);
  const labels: number[] = [];
  const chars: DecodedChar[] = [];
  let previous = BLANK;
  // checkShape: row + k < T·K, and the charset has K - 1 characters.
  for (let t = 0; t < T; t++) {
    const row = t * K;
    let best = 0;
    let bestLogProb = logProbs[row]!;
    for (let k = 1; k < K; k++) if (logProbs[row + k]! > bestLogProb) [best, bestLogProb] = [k, logProbs[row + k]!];
    if (best !== BLANK) {
      const probability = Math.exp(bestLogProb);
      const c = best === previous ? chars[chars.length - 1] : undefined;
      if (c) {
        c.lastFrame = t;
        c.probability = Math.max(c.probability, probability);
      } else {
        labels.push(best);
        chars.push({ char: charset[best - 1]!, frame: t, lastFrame: t, probability });
      }
    }
    previous = best;
  }
  return { text: chars.map((c) => c.char).join(''), labels, confidence: Math.exp(ctcLogLikelihood(logProbs, T, K, labels)), chars };
}

/** What the beam search needs of a language model; CharNgram provides it. States are opaque strings. */
export interface DecoderLanguageModel {
  initialState(): string;
  nextState(state: string, char: string): string;
  /** ln P(char | state). */
  logProbAfter(state: string, char: string): number;
  /** ln P(end of line | state). */
  logProbEndAfter(state: string): number;
}

export interface BeamSearchOptions {
  /** Prefixes kept per frame (default 10). */
  beamWidth?: number;
  lm?: DecoderLanguageModel;
  /** Weight of the LM's log-probability (default 0.5 with an LM). */
  lmWeight?: number;
  /** Added per character written, against the LM's preference for short readings (default 0). */
  insertionBonus?: number;
  /** Added per word (run of letters) completed (default 0). */
  wordBonus?: number;
  /** When given, every run of letters must be a word of it (case ignored unless the trie is case-sensitive). */
  lexicon?: WordTrie;
  /**
   * With a lexicon: the cost of a word outside it (subtracted once per such word). Infinity (the
   * default) forbids them; a finite cost makes the lexicon a preference, for text with names and rare words.
   */
  oovPenalty?: number;
  /** Characters this many nats below the frame's most probable class (blank included) are not tried (default 10). */
  pruneThreshold?: number;
  /** At most this many characters tried per frame, the most probable (default 16). */
  maxCharsPerFrame?: number;
}

export interface BeamReading extends Reading {
  /** The search score of the text: ln P(text | image) + lmWeight ln P_LM(text) + bonuses. */
  score: number;
  /** ln P(text | image), exact. */
  acousticLogProb: number;
}

const BETWEEN_WORDS = -1;
const IN_LETTERS = -2; // inside a run of letters, no lexicon to follow
const OUT_OF_LEXICON = -3; // inside a run of letters that no lexicon word starts with
const FORBIDDEN = -1;

/**
 * CTC prefix beam search in log space (each prefix keeps the probability of its paths ending in a
 * blank and in its last character). The LM and bonuses are applied when a prefix is extended by a
 * character, so every prefix's score holds its LM probability exactly once.
 */
export function beamSearch(logProbs: Float32Array, T: number, K: number, charset: readonly string[], options: BeamSearchOptions = {}): BeamReading {
  checkShape(logProbs, T, K, charset);
  const beamWidth = options.beamWidth ?? 10;
  if (!Number.isInteger(beamWidth) || beamWidth < 1) throw new Error(`beam search: beamWidth ${beamWidth} must be a whole number >= 1`);
  const { lm, lexicon } = options;
  const lmWeight = lm ? (options.lmWeight ?? 0.5) : 0;
  const insertionBonus = options.insertionBonus ?? 0;
  const wordBonus = options.wordBonus ?? 0;
  const threshold = options.pruneThreshold ?? 10;
  const maxChars = options.maxCharsPerFrame ?? 16;
  const oovPenalty = options.oovPenalty ?? Infinity;
  if (!(oovPenalty >= 0)) throw new Error(`beam search: oovPenalty ${oovPenalty} must be >= 0 (Infinity forbids words outside the lexicon)`);
  // The most an extension can add to a prefix's score (LM log-probabilities are <= 0).
  const maxExtensionScore = lmWeight < 0 ? Infinity : insertionBonus + Math.max(0, wordBonus);

  const letter = new Uint8Array(K);
  const lexiconPath: (number[] | null)[] = [null];
  for (let k = 1; k < K; k++) {
    const char = charset[k - 1]!; // checkShape: K - 1 characters
    letter[k] = isLetter(char) ? 1 : 0;
    if (lexicon && letter[k]) {
      // Folding may turn one character into several symbols (rarely: 'İ' is 'i' + a combining dot).
      const symbols = graphemes(lexicon.fold(char)).map((g) => lexicon.symbolOf(g));
      lexiconPath[k] = symbols.length && !symbols.includes(NO_NODE) ? symbols : null;
    } else lexiconPath[k] = null;
  }

  // The prefix tree: node 0 is the empty prefix. A node id indexes every per-node array below
  // (extend() grows them together), so those reads are in range.
  const parent: number[] = [-1];
  const label: number[] = [BLANK];
  const lmState: string[] = [lm ? lm.initialState() : ''];
  const wordState: number[] = [BETWEEN_WORDS];
  const extensionScore: number[] = [0];
  const children = new Map<number, number>();
  const stamp: number[] = [-1];
  /** Frame at which a node last had a child in the beam. */
  const parentStamp: number[] = [-1];
  const nextBlank: number[] = [-Infinity];
  const nextChar: number[] = [-Infinity];
  const nextTotal: number[] = [-Infinity];

  const extend = (node: number, k: number): number => {
    const key = node * K + k;
    const known = children.get(key);
    if (known !== undefined) return known;
    let bonus = insertionBonus;
    let state = wordState[node]!;
    if (letter[k]) {
      if (lexicon && state !== OUT_OF_LEXICON) {
        const path = lexiconPath[k];
        let trieNode = state >= 0 ? state : lexicon.root;
        for (let i = 0; path && i < path.length && trieNode !== NO_NODE; i++) trieNode = lexicon.child(trieNode, path[i]!);
        if (path && trieNode !== NO_NODE) state = trieNode;
        else if (oovPenalty < Infinity) [state, bonus] = [OUT_OF_LEXICON, bonus - oovPenalty];
        else {
          children.set(key, FORBIDDEN);
          return FORBIDDEN;
        }
      } else if (!lexicon) state = IN_LETTERS;
    } else {
      if (lexicon && state >= 0 && !lexicon.isWord(state)) {
        if (oovPenalty === Infinity) {
          children.set(key, FORBIDDEN);
          return FORBIDDEN;
        }
        bonus -= oovPenalty;
      }
      if (state !== BETWEEN_WORDS) bonus += wordBonus;
      state = BETWEEN_WORDS;
    }
    const char = charset[k - 1]!;
    const id = parent.length;
    parent.push(node);
    label.push(k);
    lmState.push(lm ? lm.nextState(lmState[node]!, char) : '');
    wordState.push(state);
    extensionScore.push(bonus + (lm ? lmWeight * lm.logProbAfter(lmState[node]!, char) : 0));
    stamp.push(-1);
    parentStamp.push(-1);
    nextBlank.push(-Infinity);
    nextChar.push(-Infinity);
    nextTotal.push(-Infinity);
    children.set(key, id);
    return id;
  };

  let beam = [0];
  let beamBlank = [0];
  let beamChar = [-Infinity];
  const candidates: number[] = [];
  const touched: number[] = [];
  const touch = (node: number, t: number): void => {
    if (stamp[node] === t) return;
    stamp[node] = t;
    nextBlank[node] = -Infinity;
    nextChar[node] = -Infinity;
    touched.push(node);
  };
  const byNextTotal = (a: number, b: number): number => nextTotal[b]! - nextTotal[a]!;
  /** Whether every run of letters must be a word of the lexicon. */
  const wholeWords = lexicon !== undefined && oovPenalty === Infinity;
  const endsOnWord = (state: number): boolean => state === BETWEEN_WORDS || (state >= 0 && lexicon!.isWord(state));

  for (let t = 0; t < T; t++) {
    const row = t * K;
    let frameMax = -Infinity;
    for (let k = 0; k < K; k++) if (logProbs[row + k]! > frameMax) frameMax = logProbs[row + k]!;
    candidates.length = 0;
    for (let k = 1; k < K; k++) if (logProbs[row + k]! >= frameMax - threshold) candidates.push(k);
    if (candidates.length > maxChars) {
      candidates.sort((a, b) => logProbs[row + b]! - logProbs[row + a]!);
      candidates.length = maxChars;
    }
    touched.length = 0;
    const blankLogProb = logProbs[row + BLANK]!;
    // beam, beamBlank and beamChar have one entry per beam prefix; candidates are classes < K.
    // Each prefix staying as it is (a blank, or its last character again) comes first: the worst of
    // those totals bounds the beam's cutoff from below, so an extension that cannot reach it is
    // skipped without creating its node or asking the LM, and the result is unchanged.
    let cutoff = Infinity;
    for (let i = 0; i < beam.length; i++) {
      const node = beam[i]!;
      touch(node, t);
      if (node > 0) parentStamp[parent[node]!] = t;
      nextBlank[node] = logAddExp(beamBlank[i]!, beamChar[i]!) + blankLogProb;
      const last = label[node]!;
      nextChar[node] = last !== BLANK ? beamChar[i]! + logProbs[row + last]! : -Infinity;
      cutoff = Math.min(cutoff, logAddExp(nextBlank[node]!, nextChar[node]!));
    }
    if (beam.length < beamWidth) cutoff = -Infinity;
    for (let i = 0; i < beam.length; i++) {
      const node = beam[i]!;
      const pBlank = beamBlank[i]!;
      const total = logAddExp(pBlank, beamChar[i]!);
      const last = label[node]!;
      for (let c = 0; c < candidates.length; c++) {
        const k = candidates[c]!;
        // A repeated character needs a blank between, else it merges into the last one.
        const score = (k === last ? pBlank : total) + logProbs[row + k]!;
        let child: number;
        if (score + maxExtensionScore < cutoff) {
          // Below the cutoff, only a child already in the beam can still gain from it.
          if (parentStamp[node] !== t) continue;
          child = children.get(node * K + k) ?? FORBIDDEN;
          if (child === FORBIDDEN || stamp[child] !== t) continue;
        } else {
          child = extend(node, k);
          if (child === FORBIDDEN) continue;
          touch(child, t);
        }
        nextChar[child] = logAddExp(nextChar[child]!, score + extensionScore[child]!);
      }
    }
    for (let i = 0; i < touched.length; i++) nextTotal[touched[i]!] = logAddExp(nextBlank[touched[i]!]!, nextChar[touched[i]!]!);
    if (touched.length > beamWidth) {
      touched.sort(byNextTotal);
      // With a lexicon, the best prefix that ends on a whole word of it keeps a place beyond the beam's
      // width: a beam full of unfinished or unknown words would otherwise leave the line to end on
      // one (strict lexicon: nothing to end on; with an OOV cost: that cost paid for want of choice).
      const complete = lexicon ? touched.findIndex((n) => endsOnWord(wordState[n]!)) : -1;
      const reserved = complete >= beamWidth ? touched[complete]! : undefined;
      touched.length = beamWidth;
      if (reserved !== undefined) touched.push(reserved);
    }
    beam = touched.slice();
    beamBlank = beam.map((n) => nextBlank[n]!);
    beamChar = beam.map((n) => nextChar[n]!);
  }

  const finalScore = (i: number): number => {
    const node = beam[i]!;
    const state = wordState[node]!;
    const unfinished = lexicon !== undefined && state >= 0 && !lexicon.isWord(state);
    // The beam always holds a prefix that ends on a whole word (kept above), so a strict lexicon's reading is whole words.
    if (unfinished && wholeWords) return -Infinity;
    return logAddExp(beamBlank[i]!, beamChar[i]!) + (lm ? lmWeight * lm.logProbEndAfter(lmState[node]!) : 0) + (state !== BETWEEN_WORDS ? wordBonus : 0) - (unfinished ? oovPenalty : 0);
  };
  let best = 0;
  let bestScore = -Infinity;
  for (let i = 0; i < beam.length; i++) {
    const s = finalScore(i);
    if (s > bestScore) [best, bestScore] = [i, s];
  }

  const labels: number[] = [];
  for (let node = beam[best] ?? 0; node > 0; node = parent[node]!) labels.push(label[node]!);
  labels.reverse();
  const acousticLogProb = ctcLogLikelihood(logProbs, T, K, labels);
  const spans = forcedAlignment(logProbs, T, K, labels)?.spans ?? [];
  const chars = spans.map((s) => ({ char: charset[s.label - 1]!, frame: s.frame, lastFrame: s.lastFrame, probability: s.probability }));
  return { text: labels.map((k) => charset[k - 1]).join(''), labels, confidence: Math.exp(acousticLogProb), chars, score: bestScore, acousticLogProb };
}

/** A batch of model outputs: one array per line, or one [B, Tmax, K] array with each line's frame count. */
export type LineBatch = readonly Float32Array[] | { data: Float32Array; Tmax: number; lengths: ArrayLike<number> };

/** Each line's [T, K] log-probabilities (views into a padded batch, not copies). */
export function batchLines(batch: LineBatch, K: number): Float32Array[] {
  if (Array.isArray(batch)) return [...batch];
  const { data, Tmax, lengths } = batch as Exclude<LineBatch, readonly Float32Array[]>;
  return Array.from(lengths, (length, b) => {
    if (length > Tmax) throw new Error(`CTC batch: line ${b} has ${length} frames, more than the batch's Tmax=${Tmax}`);
    return data.subarray(b * Tmax * K, (b * Tmax + length) * K);
  });
}

export function greedyDecodeBatch(batch: LineBatch, K: number, charset: readonly string[]): Reading[] {
  return batchLines(batch, K).map((line) => greedyDecode(line, line.length / K, K, charset));
}

export function beamSearchBatch(batch: LineBatch, K: number, charset: readonly string[], options: BeamSearchOptions = {}): BeamReading[] {
  return batchLines(batch, K).map((line) => beamSearch(line, line.length / K, K, charset, options));
}
