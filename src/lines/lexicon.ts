/**
 * A word trie for lexicon-constrained decoding. Words are runs of letters (accents kept); every other
 * character (space, punctuation, digit, apostrophe, hyphen) separates words, so "l'homme," holds the
 * words "l" and "homme", and tokens made only of non-letters are free. Matching ignores case unless
 * asked not to: a line may start with a capital.
 */
import { graphemes, isLetter } from './graphemes.js';

export const NO_NODE = -1;

const PLAIN_WORD = /^[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+$/;

export interface WordTrieOptions {
  caseSensitive?: boolean;
}

/** The words of a text under the lexicon's definition: its maximal runs of letters. */
export function lexiconWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  for (const g of graphemes(text)) {
    if (isLetter(g)) word += g;
    else if (word) [words[words.length], word] = [word, ''];
  }
  if (word) words.push(word);
  return words;
}

export class WordTrie {
  readonly caseSensitive: boolean;
  /** Compact child lists: node n's edges are edgeSymbol/edgeTarget[edgeStart[n] .. edgeStart[n+1]). */
  private readonly edgeStart: Int32Array;
  private readonly edgeSymbol: Int32Array;
  private readonly edgeTarget: Int32Array;
  private readonly terminal: Uint8Array;
  private readonly symbols = new Map<string, number>();
  readonly wordCount: number;

  private constructor(words: Iterable<string>, options: WordTrieOptions) {
    this.caseSensitive = options.caseSensitive ?? false;
    const children: Map<number, number>[] = [new Map()];
    const terminal: number[] = [0];
    let wordCount = 0;
    for (const entry of words) {
      // Most entries of a word list are a single plain word: no need to look for letter runs.
      for (const word of PLAIN_WORD.test(entry) ? [entry] : lexiconWords(entry)) {
        let node = 0;
        for (const g of graphemes(this.fold(word))) {
          let symbol = this.symbols.get(g);
          if (symbol === undefined) this.symbols.set(g, (symbol = this.symbols.size));
          const edges = children[node]!; // every node id indexes children
          let next = edges.get(symbol);
          if (next === undefined) {
            next = children.length;
            edges.set(symbol, next);
            children.push(new Map());
            terminal.push(0);
          }
          node = next;
        }
        if (!terminal[node]) wordCount++;
        terminal[node] = 1;
      }
    }
    this.wordCount = wordCount;
    this.terminal = Uint8Array.from(terminal);
    this.edgeStart = new Int32Array(children.length + 1);
    const edgeCount = children.reduce((n, c) => n + c.size, 0);
    this.edgeSymbol = new Int32Array(edgeCount);
    this.edgeTarget = new Int32Array(edgeCount);
    let e = 0;
    children.forEach((c, n) => {
      this.edgeStart[n] = e;
      for (const [symbol, target] of [...c].sort((a, b) => a[0] - b[0])) [this.edgeSymbol[e], this.edgeTarget[e++]] = [symbol, target];
    });
    this.edgeStart[children.length] = e;
  }

  /** A trie of the words in `words` (each entry may be a phrase: its letter runs are taken). */
  static fromWords(words: Iterable<string>, options: WordTrieOptions = {}): WordTrie {
    return new WordTrie(words, options);
  }

  readonly root = 0;

  get nodeCount(): number {
    return this.terminal.length;
  }

  /** The form a grapheme is matched in (lower case unless case-sensitive). */
  fold(text: string): string {
    return (this.caseSensitive ? text : text.toLowerCase()).normalize('NFC');
  }

  /** The trie's id for a folded grapheme, or NO_NODE when no word contains it. */
  symbolOf(foldedGrapheme: string): number {
    return this.symbols.get(foldedGrapheme) ?? NO_NODE;
  }

  /** The node reached from `node` by symbol `symbol`, or NO_NODE. */
  child(node: number, symbol: number): number {
    // A node's edges are edgeStart[node] .. edgeStart[node + 1] - 1 (edgeStart has one entry more than there are nodes).
    let lo = this.edgeStart[node]!;
    let hi = this.edgeStart[node + 1]! - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.edgeSymbol[mid]!;
      if (s === symbol) return this.edgeTarget[mid]!;
      if (s < symbol) lo = mid + 1;
      else hi = mid - 1;
    }
    return NO_NODE;
  }

  /** True when the path to `node` spells a whole word. */
  isWord(node: number): boolean {
    return this.terminal[node] === 1;
  }

  /** The node spelling `prefix`, or NO_NODE. */
  find(prefix: string): number {
    let node = this.root;
    for (const g of graphemes(this.fold(prefix))) {
      const symbol = this.symbolOf(g);
      node = symbol === NO_NODE ? NO_NODE : this.child(node, symbol);
      if (node === NO_NODE) return NO_NODE;
    }
    return node;
  }

  has(word: string): boolean {
    const node = this.find(word);
    return node !== NO_NODE && this.isWord(node);
  }

  /** True when every word of `text` (its letter runs) is in the trie. */
  accepts(text: string): boolean {
    return lexiconWords(text).every((w) => this.has(w));
  }
}
