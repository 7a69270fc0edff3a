import { describe, expect, it } from 'vitest';
import { ctcLogLikelihood, forcedAlignment } from '../src/lines/ctc-align.js';
import { beamSearch, beamSearchBatch, greedyDecode, greedyDecodeBatch } from '../src/lines/ctc-decode.js';
import { CharNgram } from '../src/lines/char-ngram.js';
import { WordTrie } from '../src/lines/lexicon.js';

/** Deterministic uniform numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random per-frame distributions as log-probabilities, peaked by `sharpness`. */
function randomLogProbs(T: number, K: number, rand: () => number, sharpness = 3): Float32Array {
  const out = new Float32Array(T * K);
  for (let t = 0; t < T; t++) {
    const logits = Array.from({ length: K }, () => sharpness * rand());
    const norm = Math.log(logits.reduce((s, x) => s + Math.exp(x), 0));
    logits.forEach((x, k) => (out[t * K + k] = x - norm));
  }
  return out;
}

/** Log-probabilities from explicit per-frame probabilities. */
function fromProbabilities(rows: number[][]): Float32Array {
  return Float32Array.from(rows.flatMap((r) => r.map(Math.log)));
}

function collapse(path: number[]): number[] {
  return path.filter((k, i) => k !== 0 && k !== path[i - 1]);
}

/** Every frame path (K^T of them) with its log-probability. */
function allPaths(logProbs: Float32Array, T: number, K: number): { path: number[]; logProb: number }[] {
  const out: { path: number[]; logProb: number }[] = [];
  const path: number[] = [];
  const walk = (t: number, lp: number) => {
    if (t === T) return void out.push({ path: [...path], logProb: lp });
    for (let k = 0; k < K; k++) {
      path.push(k);
      walk(t + 1, lp + logProbs[t * K + k]);
      path.pop();
    }
  };
  walk(0, 0);
  return out;
}

/** Every labelling of length 0..T over classes 1..K-1. */
function allLabellings(T: number, K: number): number[][] {
  let level: number[][] = [[]];
  const out: number[][] = [[]];
  for (let len = 1; len <= T; len++) {
    level = level.flatMap((l) => Array.from({ length: K - 1 }, (_, k) => [...l, k + 1]));
    out.push(...level);
  }
  return out;
}

describe('exact CTC forward and forced alignment', () => {
  it('the forward log-likelihood equals the sum over the enumerated paths that collapse to the labelling', () => {
    const rand = random(1);
    for (const [T, K] of [[1, 2], [3, 3], [5, 3], [4, 4]]) {
      const lp = randomLogProbs(T, K, rand);
      const byLabelling = new Map<string, number>();
      for (const { path, logProb } of allPaths(lp, T, K)) {
        const key = collapse(path).join(',');
        byLabelling.set(key, (byLabelling.get(key) ?? 0) + Math.exp(logProb));
      }
      for (const labels of allLabellings(T, K)) {
        const expected = byLabelling.get(labels.join(',')) ?? 0;
        const got = Math.exp(ctcLogLikelihood(lp, T, K, labels));
        expect(got).toBeCloseTo(expected, 10);
      }
    }
  });

  it('the probabilities of all labellings sum to one', () => {
    const rand = random(2);
    const [T, K] = [6, 3];
    const lp = randomLogProbs(T, K, rand);
    const total = allLabellings(T, K).reduce((s, l) => s + Math.exp(ctcLogLikelihood(lp, T, K, l)), 0);
    expect(total).toBeCloseTo(1, 5);
  });

  it('a labelling that needs more frames than there are has probability zero', () => {
    const lp = randomLogProbs(3, 3, random(3));
    expect(ctcLogLikelihood(lp, 3, 3, [1, 1, 1])).toBe(-Infinity); // needs 5 frames: 1 _ 1 _ 1
    expect(forcedAlignment(lp, 3, 3, [1, 1, 1])).toBeNull();
  });

  it('forced alignment finds the best path of the labelling and where each label sits in it', () => {
    const rand = random(4);
    const [T, K] = [6, 3];
    const lp = randomLogProbs(T, K, rand);
    const paths = allPaths(lp, T, K);
    for (const labels of [[1], [1, 2], [2, 2], [1, 2, 1]]) {
      const best = paths.filter((p) => collapse(p.path).join() === labels.join()).reduce((a, b) => (b.logProb > a.logProb ? b : a));
      const aligned = forcedAlignment(lp, T, K, labels)!;
      expect(aligned.logProb).toBeCloseTo(best.logProb, 6);
      // Rebuild the path from the spans: labels on their frames, blanks elsewhere.
      const rebuilt = new Array<number>(T).fill(0);
      for (const s of aligned.spans) for (let t = s.frame; t <= s.lastFrame; t++) rebuilt[t] = s.label;
      expect(rebuilt.reduce((sum, k, t) => sum + lp[t * K + k], 0)).toBeCloseTo(best.logProb, 6);
      for (const s of aligned.spans) expect(s.probability).toBeCloseTo(Math.max(...Array.from({ length: s.lastFrame - s.frame + 1 }, (_, i) => Math.exp(lp[(s.frame + i) * K + s.label]))), 6);
    }
  });
});

describe('greedy decoding', () => {
  const charset = ['a', 'b'];
  it('collapses repeats, drops blanks, keeps a doubled letter split by a blank, and gives each character its frames', () => {
    // Frames' best classes: a a _ a b b _  ->  "aab"
    const lp = fromProbabilities([
      [0.1, 0.8, 0.1],
      [0.3, 0.6, 0.1],
      [0.7, 0.2, 0.1],
      [0.2, 0.7, 0.1],
      [0.1, 0.1, 0.8],
      [0.1, 0.2, 0.7],
      [0.9, 0.05, 0.05],
    ]);
    const r = greedyDecode(lp, 7, 3, charset);
    expect(r.text).toBe('aab');
    expect(r.labels).toEqual([1, 1, 2]);
    expect(r.chars.map((c) => [c.char, c.frame, c.lastFrame])).toEqual([['a', 0, 1], ['a', 3, 3], ['b', 4, 5]]);
    expect(r.chars.map((c) => c.probability)).toEqual([0.8, 0.7, 0.8].map((p) => Math.fround(Math.log(p))).map(Math.exp));
    expect(r.confidence).toBeCloseTo(Math.exp(ctcLogLikelihood(lp, 7, 3, [1, 1, 2])), 12);
  });

  it('reads nothing from all-blank frames', () => {
    const r = greedyDecode(fromProbabilities([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1]]), 2, 3, charset);
    expect(r).toMatchObject({ text: '', labels: [], chars: [] });
  });

  it('names the mismatch when the charset does not fit the model output', () => {
    expect(() => greedyDecode(new Float32Array(12), 3, 4, charset)).toThrow(/K=4 classes per frame but the charset has 2 characters/);
    expect(() => greedyDecode(new Float32Array(5), 3, 3, charset)).toThrow(/5 values cannot hold T=3 frames of K=3/);
  });
});

describe('prefix beam search', () => {
  it('without LM and with a wide beam, finds the exact most probable labelling (brute force over all labellings)', () => {
    const rand = random(5);
    let beatsGreedy = 0;
    for (let trial = 0; trial < 60; trial++) {
      const T = 1 + Math.floor(rand() * 6);
      const K = 2 + Math.floor(rand() * 2);
      const charset = ['x', 'y'].slice(0, K - 1);
      const lp = randomLogProbs(T, K, rand, 1 + 3 * rand());
      let bestLogProb = -Infinity;
      for (const l of allLabellings(T, K)) bestLogProb = Math.max(bestLogProb, ctcLogLikelihood(lp, T, K, l));
      const beam = beamSearch(lp, T, K, charset, { beamWidth: 500, pruneThreshold: Infinity });
      const greedy = greedyDecode(lp, T, K, charset);
      expect(beam.acousticLogProb).toBeCloseTo(bestLogProb, 9);
      expect(beam.score).toBeCloseTo(bestLogProb, 9);
      expect(beam.acousticLogProb).toBeGreaterThanOrEqual(Math.log(greedy.confidence) - 1e-9);
      if (beam.acousticLogProb > Math.log(greedy.confidence) + 1e-6) beatsGreedy++;
    }
    // The test must include problems where the best path is not the best labelling.
    expect(beatsGreedy).toBeGreaterThan(0);
  });

  it('with LM, bonuses and lexicon, a wide beam finds the labelling of best fused score (brute force)', () => {
    const rand = random(8);
    const charset = ['x', 'y', ' '];
    const K = 4;
    const lm = CharNgram.train(Array.from({ length: 40 }, () => Array.from({ length: 1 + Math.floor(rand() * 6) }, () => 'xy '[Math.floor(rand() * 3)]).join('')), { order: 3 });
    const lexicon = WordTrie.fromWords(['x', 'xy', 'yy', 'yxy']);
    const options = { lm, lmWeight: 0.7, insertionBonus: 0.3, wordBonus: 0.4 };
    let changedByFusion = 0;
    for (let trial = 0; trial < 25; trial++) {
      const T = 2 + Math.floor(rand() * 4);
      const lp = randomLogProbs(T, K, rand, 3);
      for (const withLexicon of [false, true]) {
        let best = -Infinity;
        for (const labels of allLabellings(T, K)) {
          const text = labels.map((k) => charset[k - 1]).join('');
          if (withLexicon && !lexicon.accepts(text)) continue;
          const words = text.split(' ').filter(Boolean).length;
          const fused = ctcLogLikelihood(lp, T, K, labels) + 0.7 * lm.lineLogProb(text) + 0.3 * labels.length + 0.4 * words;
          best = Math.max(best, fused);
        }
        const r = beamSearch(lp, T, K, charset, { ...options, lexicon: withLexicon ? lexicon : undefined, beamWidth: 2000, pruneThreshold: Infinity });
        expect(r.score).toBeCloseTo(best, 9);
        if (withLexicon) expect(lexicon.accepts(r.text)).toBe(true);
        if (r.text !== beamSearch(lp, T, K, charset, { beamWidth: 2000, pruneThreshold: Infinity }).text) changedByFusion++;
      }
    }
    expect(changedByFusion).toBeGreaterThan(5);
  });

  it('with the default beam and pruning it still matches the exact best on small problems', () => {
    const rand = random(6);
    for (let trial = 0; trial < 30; trial++) {
      const [T, K] = [6, 3];
      const lp = randomLogProbs(T, K, rand, 4);
      let bestLogProb = -Infinity;
      for (const l of allLabellings(T, K)) bestLogProb = Math.max(bestLogProb, ctcLogLikelihood(lp, T, K, l));
      expect(beamSearch(lp, T, K, ['x', 'y']).acousticLogProb).toBeCloseTo(bestLogProb, 6);
    }
  });

  it('gives the frames of each character of its reading', () => {
    const lp = fromProbabilities([
      [0.1, 0.8, 0.1],
      [0.8, 0.1, 0.1],
      [0.1, 0.1, 0.8],
      [0.1, 0.1, 0.8],
      [0.9, 0.05, 0.05],
    ]);
    const r = beamSearch(lp, 5, 3, ['a', 'b']);
    expect(r.text).toBe('ab');
    expect(r.chars.map((c) => [c.char, c.frame, c.lastFrame])).toEqual([['a', 0, 0], ['b', 2, 3]]);
    expect(r.chars[1].probability).toBeCloseTo(0.8, 6);
  });

  // An ambiguous line: each letter slot of "the cat" also offers a close, wrong reading.
  const charset = [...' acdeghot'];
  const K = charset.length + 1;
  function ambiguousLine(charset: string[], truth: string, confusable: Record<string, string>, pTruth = 0.45): Float32Array {
    const K = charset.length + 1;
    const rows: number[][] = [];
    for (const ch of truth) {
      const row = new Array<number>(K).fill(0.01);
      row[charset.indexOf(ch) + 1] = pTruth;
      if (confusable[ch]) row[charset.indexOf(confusable[ch]) + 1] = pTruth + 0.05;
      const sum = row.reduce((s, x) => s + x, 0);
      rows.push(row.map((x) => x / sum));
      const blank = new Array<number>(K).fill(0.005);
      blank[0] = 1 - 0.005 * (K - 1);
      rows.push(blank);
    }
    return fromProbabilities(rows);
  }
  const lp = ambiguousLine(charset, 'the cat', { t: 'd', c: 'g' });
  const T = lp.length / K;

  it('a character LM trained on text turns a misread line into the likely one', () => {
    expect(greedyDecode(lp, T, K, charset).text).toBe('dhe gad');
    const lm = CharNgram.train(['the cat', 'the cat sat on the hat', 'the hat', 'a cat', 'the dog ate the hot cat'], { order: 4 });
    expect(beamSearch(lp, T, K, charset, { lm, lmWeight: 1 }).text).toBe('the cat');
    expect(beamSearch(lp, T, K, charset, { lm, lmWeight: 0 }).text).toBe('dhe gad');
  });

  it('a lexicon keeps only its words, and leaves tokens without letters free', () => {
    const lexicon = WordTrie.fromWords(['the', 'cat', 'hat']);
    const r = beamSearch(lp, T, K, charset, { lexicon });
    expect(r.text).toBe('the cat');
    expect(r.acousticLogProb).toBeLessThan(Math.log(greedyDecode(lp, T, K, charset).confidence));

    const digits = [...' 0123456789-,'];
    const numeric = ambiguousLine(digits, '12-3, 4', {}, 0.9);
    const line = beamSearch(numeric, numeric.length / (digits.length + 1), digits.length + 1, digits, { lexicon });
    expect(line.text).toBe('12-3, 4');
  });

  it('with an OOV penalty, a word outside the lexicon is read when the image is clear enough to pay for it', () => {
    // The frames clearly say "the dog"; "dog" is not in the lexicon.
    const clear = ambiguousLine(charset, 'the dog', {}, 0.9);
    const lexicon = WordTrie.fromWords(['the', 'cat', 'hat', 'dot']);
    const T2 = clear.length / K;
    expect(beamSearch(clear, T2, K, charset, { lexicon }).text).not.toBe('the dog');
    const lenient = beamSearch(clear, T2, K, charset, { lexicon, oovPenalty: 2 });
    expect(lenient.text).toBe('the dog');
    // The beam's score is the pruned search's estimate: at most the exact probability, less the penalty.
    expect(lenient.score).toBeLessThanOrEqual(lenient.acousticLogProb - 2 + 1e-9);
    expect(lenient.score).toBeGreaterThan(lenient.acousticLogProb - 2 - 0.05);
    // A large penalty falls back to the nearest lexicon reading.
    expect(beamSearch(clear, T2, K, charset, { lexicon, oovPenalty: 1000 }).text).toBe('the dot');
    expect(() => beamSearch(clear, T2, K, charset, { lexicon, oovPenalty: -1 })).toThrow(/oovPenalty -1 must be >= 0/);
  });

  it('ignores case against the lexicon and closes a word only where it is complete', () => {
    const cs = [...'Thec '];
    const k = cs.length + 1;
    // "The" then a space, but the frames favour "Th" + space: "Th" is no word, so the space must wait.
    const rows = [
      [0.05, 0.9, 0.01, 0.01, 0.01, 0.02],
      [0.05, 0.01, 0.9, 0.01, 0.01, 0.02],
      [0.05, 0.01, 0.01, 0.45, 0.01, 0.47],
      [0.9, 0.01, 0.01, 0.02, 0.01, 0.05],
    ];
    const p = fromProbabilities(rows);
    expect(greedyDecode(p, 4, k, cs).text).toBe('Th ');
    expect(beamSearch(p, 4, k, cs, { lexicon: WordTrie.fromWords(['the']) }).text).toBe('The');
  });

  it('with a strict lexicon, even a beam of one ends on whole words: the best complete prefix keeps a place', () => {
    const cs = [...'ab '];
    const k = cs.length + 1;
    // "a" wins every frame by itself, but only "ab" is a word: "a" then "b" is the best whole-word reading.
    const rows = [
      [0.4, 0.6, 0, 0],
      [0.3, 0.4, 0.3, 0],
      [0.9, 0.05, 0.05, 0],
    ].map((r) => r.map((p) => p + 1e-6));
    const p = fromProbabilities(rows);
    const lexicon = WordTrie.fromWords(['ab']);
    expect(greedyDecode(p, 3, k, cs).text).toBe('a');
    for (const beamWidth of [1, 2, 10]) expect(beamSearch(p, 3, k, cs, { lexicon, beamWidth }).text).toBe('ab');
    // With a finite OOV cost the lexicon is a preference: "a" is read when the image pays for it,
    // and otherwise the whole word kept in the beam is there to compare it with.
    expect(beamSearch(p, 3, k, cs, { lexicon, beamWidth: 1, oovPenalty: 0.1 }).text).toBe('a');
    expect(beamSearch(p, 3, k, cs, { lexicon, beamWidth: 1, oovPenalty: 5 }).text).toBe('ab');
  });

  it('decodes a padded [B, Tmax, K] batch exactly as its lines one by one', () => {
    const rand = random(7);
    const [Tmax, K2] = [8, 4];
    const lengths = [8, 5, 3];
    const data = randomLogProbs(lengths.length * Tmax, K2, rand);
    const cs = ['p', 'q', 'r'];
    const lines = lengths.map((T2, b) => data.slice(b * Tmax * K2, (b * Tmax + T2) * K2));
    expect(greedyDecodeBatch({ data, Tmax, lengths }, K2, cs)).toEqual(lines.map((l, b) => greedyDecode(l, lengths[b], K2, cs)));
    expect(beamSearchBatch({ data, Tmax, lengths }, K2, cs)).toEqual(beamSearchBatch(lines, K2, cs));
    expect(() => greedyDecodeBatch({ data, Tmax, lengths: [9] }, K2, cs)).toThrow(/line 0 has 9 frames, more than the batch's Tmax=8/);
  });
});
