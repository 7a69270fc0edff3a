import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CharNgram, CHAR_NGRAM_VERSION } from '../src/lines/char-ngram.js';
import { DATA_DIR } from './helpers.js';

function copisteLines(split: string): string[] {
  const rows = readFileSync(join(DATA_DIR, 'copiste-lines', 'lines.tsv'), 'utf8').split('\n').slice(1).filter(Boolean);
  return rows.map((r) => r.split('\t')).filter((c) => c[4] === split).map((c) => c[1]);
}

/** Sum over every predictable symbol: the vocabulary, end of line, and (all unseen characters share one) an unknown one. */
function totalProbability(lm: CharNgram, context: string): number {
  let sum = Math.exp(lm.logProbEnd(context)) + Math.exp(lm.logProb(context, '☃'));
  for (const c of lm.vocabulary) sum += Math.exp(lm.logProb(context, c));
  return sum;
}

describe('character n-gram LM (interpolated Kneser-Ney)', () => {
  it('gives the hand-computed Kneser-Ney probabilities on a tiny corpus', () => {
    // Bigrams: <s>a 1, ab 1, b</s> 2, <s>b 1 -> D2 = n1/(n1+2n2) = 3/5.
    // Continuation unigrams: a 1, b 2, </s> 1 -> D1 = 2/4; uniform over {a, b, </s>, unknown} = 1/4.
    // P1(b) = (2 - .5 + .5*3/4)/4 = .46875;  P(b|a) = (1 - .6 + .6*1*.46875)/1 = .68125;
    // P(b|<s>) = (1 - .6 + .6*2*.46875)/2 = .48125;  P(unknown|<s>) = .6*2*(.5*3/4/4)/2 = .05625.
    const lm = CharNgram.train(['ab', 'b'], { order: 2 });
    expect(Math.exp(lm.logProb('a', 'b'))).toBeCloseTo(0.68125, 12);
    expect(Math.exp(lm.logProb('', 'b'))).toBeCloseTo(0.48125, 12);
    expect(Math.exp(lm.logProb('', 'z'))).toBeCloseTo(0.05625, 12);
    expect(Math.exp(lm.logProb('xa', 'b'))).toBeCloseTo(0.68125, 12); // only the last order-1 characters matter
  });

  const train = copisteLines('train');
  const validation = copisteLines('validation');
  let trained: CharNgram | undefined;
  /** The 6-gram of the whole training split, trained once for the tests that read it. */
  const lm6 = (): CharNgram => (trained ??= CharNgram.train(train, { order: 6 }));

  it('sums to one over the vocabulary, the end of line and the unknown character, in seen and unseen contexts', () => {
    const lm = CharNgram.train(train.slice(0, 800), { order: 6 });
    for (const context of ['', 'L', 'La Fédé', 'zzqx', 'Le 12 ', 'xxxxxxxxxxxx', 'de football du La']) {
      expect(totalProbability(lm, context)).toBeCloseTo(1, 9);
    }
  });

  it('gives an unseen character a small, non-zero probability', () => {
    const lm = lm6();
    const unseen = lm.logProb('La ', '☃');
    expect(unseen).toBeGreaterThan(-Infinity);
    expect(unseen).toBeLessThan(Math.log(1e-3));
    expect(unseen).toBeLessThan(lm.logProb('La ', 'q'));
  });

  it('on real French lines of unseen writers, a longer context predicts better (perplexity 6-gram < 3-gram < unigram)', () => {
    const ppl = [CharNgram.train(train, { order: 1 }), CharNgram.train(train, { order: 3 }), lm6()].map((lm) => lm.perplexity(validation));
    expect(ppl[1]).toBeLessThan(ppl[0]);
    expect(ppl[2]).toBeLessThan(ppl[1]);
    // A text the model was trained on is more predictable than held-out text.
    expect(lm6().perplexity(train.slice(0, 200))).toBeLessThan(ppl[2]);
  });

  it('prefers the line it has seen to the same characters shuffled', () => {
    const lm = lm6();
    const line = validation[0];
    const shuffled = [...line].reverse().join('');
    expect(lm.lineLogProb(line)).toBeGreaterThan(lm.lineLogProb(shuffled));
  });

  it('round-trips through compact JSON with the same probabilities', () => {
    const lm = lm6();
    const json = JSON.stringify(lm);
    const back = CharNgram.fromJSON(JSON.parse(json), 'lm.json');
    expect(back.order).toBe(6);
    expect(back.vocabulary).toEqual(lm.vocabulary);
    for (const line of validation.slice(0, 50)) expect(back.lineLogProb(line)).toBe(lm.lineLogProb(line));
    expect(json.length).toBeLessThan(4_000_000);
  });

  it('rejects JSON of another format or version, naming the file', () => {
    const good = CharNgram.train(['abc'], { order: 3 }).toJSON();
    expect(() => CharNgram.fromJSON({ ...good, version: CHAR_NGRAM_VERSION + 1 }, 'models/lm.json')).toThrow(/models\/lm\.json: version 2 is not supported/);
    expect(() => CharNgram.fromJSON({ ...good, format: 'arpa' }, 'models/lm.json')).toThrow(/models\/lm\.json: format is "arpa"/);
    expect(() => CharNgram.fromJSON({ ...good, counts: [0, ...good.counts.slice(1)] }, 'lm.json')).toThrow(/lm\.json: count 0 \(0\) must be a positive whole number/);
    expect(() => CharNgram.fromJSON({ ...good, ngrams: good.ngrams.slice(1) }, 'lm.json')).toThrow(/not \d+ n-grams of 3/);
    expect(() => CharNgram.train(['a'], { order: 0 })).toThrow(/order 0 must be a whole number from 1 to 20/);
  });

  it('decoder state API agrees with the text API', () => {
    const lm = CharNgram.train(train.slice(0, 500), { order: 4 });
    let state = lm.initialState();
    const text = 'Le père';
    [...text].forEach((c, i) => {
      expect(lm.logProbAfter(state, c)).toBe(lm.logProb(text.slice(0, i), c));
      state = lm.nextState(state, c);
    });
    expect(lm.logProbEndAfter(state)).toBe(lm.logProbEnd(text));
  });
});
