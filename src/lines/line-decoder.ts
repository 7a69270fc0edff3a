/**
 * Turns a line model's log-probabilities into text: greedy, or beam search
 * with an optional character n-gram LM and lexicon. One settings shape for the
 * evaluate-lines stage, the decoder tuning and `inkflow read`.
 */
import { beamSearch, greedyDecode, type Reading } from './ctc-decode.js';
import type { CharNgram } from './char-ngram.js';
import type { WordTrie } from './lexicon.js';
import type { LineLogProbs } from './line-reader.js';

export interface DecoderSettings {
  method: 'greedy' | 'beam';
  beam_width: number;
  lm_weight: number;
  insertion_bonus: number;
  /** Cost of a word outside the lexicon (Infinity forbids it). */
  oov_penalty: number;
}

export const DEFAULT_DECODER: DecoderSettings = { method: 'beam', beam_width: 10, lm_weight: 0.5, insertion_bonus: 0.5, oov_penalty: 6 };

export interface DecoderModels {
  lm?: CharNgram;
  lexicon?: WordTrie;
}

export function decodeLine(out: LineLogProbs, charset: readonly string[], settings: DecoderSettings, models: DecoderModels = {}): Reading {
  if (settings.method === 'greedy' || (!models.lm && !models.lexicon && settings.beam_width <= 1)) return greedyDecode(out.logProbs, out.frames, out.K, charset);
  return beamSearch(out.logProbs, out.frames, out.K, charset, {
    beamWidth: settings.beam_width,
    ...(models.lm ? { lm: models.lm, lmWeight: settings.lm_weight, insertionBonus: settings.insertion_bonus } : {}),
    ...(models.lexicon ? { lexicon: models.lexicon, oovPenalty: settings.oov_penalty } : {}),
  });
}
