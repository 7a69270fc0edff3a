import { describe, expect, it } from 'vitest';
import { align, cer, confusions, editDistance, errorRate, lettersOnly, wer } from '../src/lines/text-metrics.js';
import { lexiconWords, WordTrie } from '../src/lines/lexicon.js';
import { graphemes } from '../src/lines/graphemes.js';
import { loadWords } from '../src/phrases/words.js';

describe('text metrics', () => {
  it('aligns kitten with sitting: 2 substitutions and 1 insertion', () => {
    const { distance, ops } = align([...'kitten'], [...'sitting']);
    expect(distance).toBe(3);
    expect(ops.map((o) => o.op)).toEqual(['substitute', 'equal', 'equal', 'equal', 'substitute', 'equal', 'insert']);
    expect(ops[0]).toEqual({ op: 'substitute', ref: 'k', hyp: 's' });
    expect(ops[6]).toEqual({ op: 'insert', hyp: 'g' });
    expect(editDistance([...'kitten'], [...'sitting'])).toBe(3);
  });

  it('aligns deletions and empty strings', () => {
    expect(align([...'abc'], []).ops).toEqual([{ op: 'delete', ref: 'a' }, { op: 'delete', ref: 'b' }, { op: 'delete', ref: 'c' }]);
    expect(align([], [...'ab']).distance).toBe(2);
    expect(align([], []).ops).toEqual([]);
  });

  it('counts CER over graphemes, whatever the Unicode form of the input', () => {
    // "é" precomposed vs e + combining acute is the same character; one substitution (é -> e) and one deletion (s).
    expect(cer('élèves', 'e\u0301leve')).toEqual({ errors: 2, length: 6 });
    expect(cer('Été', 'e\u0301te\u0301')).toEqual({ errors: 1, length: 3 });
  });

  it('counts WER over whitespace tokens', () => {
    expect(wer('le chat  dort ici', 'le chien dort')).toEqual({ errors: 2, length: 4 });
    expect(wer('', 'mot')).toEqual({ errors: 1, length: 0 });
  });

  it('rates a corpus by total edits over total reference length, not the mean of line rates', () => {
    const counts = [cer('ab', 'xb'), cer('abcdefgh', 'abcdefgh')]; // 1/2 and 0/8
    expect(errorRate(counts)).toBeCloseTo(0.1, 12);
    expect(errorRate(counts[0])).toBe(0.5);
    expect(errorRate({ errors: 0, length: 0 })).toBe(0);
  });

  it('reduces text to its letters, accents and case ignored', () => {
    expect(lettersOnly('Élève, 3 ÇA-là!')).toBe('elevecala');
    expect(lettersOnly('Œuvre naïve')).toBe('œuvrenaive');
    expect(cer(lettersOnly('Où est-il ?'), lettersOnly('ou est il'))).toEqual({ errors: 0, length: 7 });
  });

  it('counts the most confused characters, deletions and insertions', () => {
    const c = confusions([
      { ref: 'rue', hyp: 'nue' },
      { ref: 'ru', hyp: 'nu!' },
      { ref: 'état', hyp: 'etat' },
      { ref: 'ab', hyp: 'a' },
    ]);
    expect(c.substitutions).toEqual([{ ref: 'r', hyp: 'n', count: 2 }, { ref: 'é', hyp: 'e', count: 1 }]);
    expect(c.deletions).toEqual([{ char: 'b', count: 1 }]);
    expect(c.insertions).toEqual([{ char: '!', count: 1 }]);
  });
});

describe('word trie for lexicon decoding', () => {
  it('takes the letter runs of a text as its words', () => {
    expect(lexiconWords("L'homme, 3 fois : porte-monnaie.")).toEqual(['L', 'homme', 'fois', 'porte', 'monnaie']);
    expect(lexiconWords('12 + 4')).toEqual([]);
    expect(graphemes('e\u0301t\u00e9')).toEqual(['é', 't', 'é']);
    expect(graphemes('a\r\nb👍🏽')).toEqual(['a', '\r\n', 'b', '👍🏽']);
  });

  it('finds words and prefixes, ignoring case by default', () => {
    const trie = WordTrie.fromWords(['chat', 'chaton', 'Été', "aujourd'hui"]);
    expect(trie.wordCount).toBe(5); // chat, chaton, été, aujourd, hui
    expect(trie.has('Chat')).toBe(true);
    expect(trie.has('cha')).toBe(false);
    expect(trie.find('cha')).toBeGreaterThan(0);
    expect(trie.find('chien')).toBe(-1);
    expect(trie.has('été')).toBe(true);
    expect(trie.accepts("Aujourd'hui, le chat (3)")).toBe(false);
    expect(trie.accepts("Aujourd'hui, chat 3")).toBe(true);
    const strict = WordTrie.fromWords(['Paris'], { caseSensitive: true });
    expect([strict.has('Paris'), strict.has('paris')]).toEqual([true, false]);
  });

  it('holds the English word list the letter reader uses, compactly', async () => {
    const words = await loadWords();
    const trie = WordTrie.fromWords(words);
    expect(trie.wordCount).toBeGreaterThan(200_000);
    for (const w of ['house', 'writing', 'zebra']) expect(trie.has(w)).toBe(true);
    expect(trie.has('xqzt')).toBe(false);
  });
});
