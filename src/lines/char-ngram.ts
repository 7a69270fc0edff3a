/**
 * A character n-gram language model with interpolated Kneser-Ney smoothing (Chen & Goodman 1998, one
 * absolute discount per order, D = n1 / (n1 + 2 n2)), over the graphemes of text lines, with begin-
 * and end-of-line symbols. The lowest order interpolates with a uniform distribution over the
 * vocabulary plus an unknown-character symbol, so a character never seen in training gets a small,
 * non-zero probability. Default order 6, as PyLaia's character LM.
 *
 * Internally each symbol is one UTF-16 code unit (SYMBOL_BASE + id), so a context of the last n-1
 * symbols is a short string: the decoder's state. Queries walk a trie of contexts read backwards
 * (the empty context, then the last symbol, then the last two...) with integer keys: each order's
 * context and counts are one Map lookup away, which keeps a query around a microsecond.
 */
import { graphemes } from './graphemes.js';

export const CHAR_NGRAM_FORMAT = 'inkflow-char-ngram';
export const CHAR_NGRAM_VERSION = 1;

const SYMBOL_BASE = 0x100;
const BOS = String.fromCharCode(SYMBOL_BASE);
const EOS = String.fromCharCode(SYMBOL_BASE + 1);
const UNK = String.fromCharCode(SYMBOL_BASE + 2);
const FIRST_CHAR_ID = 3;
const MAX_SYMBOLS = 0xd800 - SYMBOL_BASE;

/** The compact JSON form: the highest-order n-gram counts; everything else is derived on load. */
export interface CharNgramJSON {
  format: typeof CHAR_NGRAM_FORMAT;
  version: typeof CHAR_NGRAM_VERSION;
  smoothing: 'interpolated-kneser-ney';
  order: number;
  /** The vocabulary: symbol code SYMBOL_BASE + 3 + i is symbols[i]; codes +0, +1, +2 are begin, end, unknown. */
  symbols: string[];
  /** All n-grams of the highest order, `order` code units each, concatenated. */
  ngrams: string;
  counts: number[];
}

export interface CharNgramOptions {
  order?: number;
}

export class CharNgram {
  readonly order: number;
  /** The characters seen in training, in first-seen order. */
  readonly vocabulary: readonly string[];
  private readonly codes = new Map<string, string>();
  private readonly ngramCounts: Map<string, number>;
  private readonly uniform: number;
  /** Number of symbol ids (begin, end, unknown and the vocabulary): the radix of the integer keys. */
  private readonly radix: number;
  /** Absolute discount per order (index 1..order). */
  private readonly discounts: number[] = [];
  /** Context trie: child of node n by the symbol before its context is contextChild.get(n * radix + symbol). */
  private readonly contextChild = new Map<number, number>();
  /** Per context node: the sum of its event counts and the number of distinct events. */
  private readonly contextTotal: number[] = [0];
  private readonly contextTypes: number[] = [0];
  /** Event counts (raw at the highest order, Kneser-Ney continuation counts below): key node * radix + symbol. */
  private readonly eventCount = new Map<number, number>();

  private constructor(order: number, vocabulary: string[], ngramCounts: Map<string, number>) {
    this.order = order;
    this.vocabulary = vocabulary;
    vocabulary.forEach((g, i) => this.codes.set(g, String.fromCharCode(SYMBOL_BASE + FIRST_CHAR_ID + i)));
    this.ngramCounts = ngramCounts;
    this.radix = vocabulary.length + FIRST_CHAR_ID;
    // Predictable symbols: the vocabulary, end of line and unknown (never begin of line).
    this.uniform = 1 / (vocabulary.length + 2);
    let events = ngramCounts;
    for (let m = order; m >= 1; m--) {
      this.addOrder(events, m);
      if (m > 1) events = continuationCounts(events);
    }
  }

  private addOrder(events: Map<string, number>, order: number): void {
    let n1 = 0;
    let n2 = 0;
    for (const [ngram, count] of events) {
      if (count === 1) n1++;
      else if (count === 2) n2++;
      let node = 0;
      for (let i = order - 2; i >= 0; i--) {
        const key = node * this.radix + ngram.charCodeAt(i) - SYMBOL_BASE;
        let next = this.contextChild.get(key);
        if (next === undefined) {
          next = this.contextTotal.length;
          this.contextChild.set(key, next);
          this.contextTotal.push(0);
          this.contextTypes.push(0);
        }
        node = next;
      }
      // node is 0 or a context id made above: both index contextTotal and contextTypes.
      this.contextTotal[node]! += count;
      this.contextTypes[node]! += 1;
      this.eventCount.set(node * this.radix + ngram.charCodeAt(order - 1) - SYMBOL_BASE, count);
    }
    this.discounts[order] = n1 > 0 && n2 > 0 ? n1 / (n1 + 2 * n2) : 0.5;
  }

  /** Trains on lines of text (NFC graphemes; one line per entry). */
  static train(texts: Iterable<string>, options: CharNgramOptions = {}): CharNgram {
    const order = options.order ?? 6;
    if (!Number.isInteger(order) || order < 1 || order > 20) throw new Error(`char n-gram: order ${order} must be a whole number from 1 to 20`);
    const vocabulary: string[] = [];
    const codes = new Map<string, string>();
    const counts = new Map<string, number>();
    const padding = BOS.repeat(order - 1);
    for (const text of texts) {
      let sequence = padding;
      for (const g of graphemes(text)) {
        let code = codes.get(g);
        if (code === undefined) {
          if (vocabulary.length >= MAX_SYMBOLS - FIRST_CHAR_ID) throw new Error(`char n-gram: more than ${MAX_SYMBOLS - FIRST_CHAR_ID} distinct characters`);
          code = String.fromCharCode(SYMBOL_BASE + FIRST_CHAR_ID + vocabulary.length);
          codes.set(g, code);
          vocabulary.push(g);
        }
        sequence += code;
      }
      sequence += EOS;
      for (let end = order; end <= sequence.length; end++) {
        const ngram = sequence.slice(end - order, end);
        counts.set(ngram, (counts.get(ngram) ?? 0) + 1);
      }
    }
    return new CharNgram(order, vocabulary, counts);
  }

  /** Reads the JSON written by toJSON(); `source` names the file in errors. */
  static fromJSON(json: unknown, source = 'char n-gram JSON'): CharNgram {
    const fail = (why: string): never => {
      throw new Error(`${source}: ${why}; write it again with the language-model stage`);
    };
    if (typeof json !== 'object' || json === null) return fail('not a JSON object');
    const j = json as Partial<Record<keyof CharNgramJSON, unknown>>;
    if (j.format !== CHAR_NGRAM_FORMAT) return fail(`format is ${JSON.stringify(j.format)}, expected "${CHAR_NGRAM_FORMAT}"`);
    if (j.version !== CHAR_NGRAM_VERSION) return fail(`version ${JSON.stringify(j.version)} is not supported (this inkflow reads version ${CHAR_NGRAM_VERSION})`);
    const order = j.order;
    if (typeof order !== 'number' || !Number.isInteger(order) || order < 1 || order > 20) return fail(`order ${JSON.stringify(order)} must be a whole number from 1 to 20`);
    if (!Array.isArray(j.symbols) || !j.symbols.every((s): s is string => typeof s === 'string' && s.length > 0)) return fail('"symbols" must be a list of characters');
    const symbols: string[] = j.symbols;
    if (new Set(symbols).size !== symbols.length) return fail('"symbols" lists a character twice');
    if (typeof j.ngrams !== 'string' || !Array.isArray(j.counts)) return fail('"ngrams" must be a string and "counts" a list');
    const ngrams = j.ngrams;
    const counts: unknown[] = j.counts;
    if (ngrams.length !== counts.length * order) return fail(`"ngrams" holds ${ngrams.length} symbols, not ${counts.length} n-grams of ${order}`);
    const maxCode = SYMBOL_BASE + FIRST_CHAR_ID + symbols.length;
    const table = new Map<string, number>();
    counts.forEach((count, i) => {
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) fail(`count ${i} (${JSON.stringify(count)}) must be a positive whole number`);
      const ngram = ngrams.slice(i * order, (i + 1) * order);
      for (let k = 0; k < order; k++) {
        const code = ngram.charCodeAt(k);
        if (code < SYMBOL_BASE || code >= maxCode || code === SYMBOL_BASE + 2) fail(`n-gram ${i} holds a symbol outside the vocabulary`);
      }
      table.set(ngram, count as number);
    });
    return new CharNgram(order, symbols, table);
  }

  toJSON(): CharNgramJSON {
    const keys = [...this.ngramCounts.keys()].sort();
    return {
      format: CHAR_NGRAM_FORMAT,
      version: CHAR_NGRAM_VERSION,
      smoothing: 'interpolated-kneser-ney',
      order: this.order,
      symbols: [...this.vocabulary],
      ngrams: keys.join(''),
      counts: keys.map((k) => this.ngramCounts.get(k)!),
    };
  }

  // ---- State API, for decoders: a state is the last order-1 symbols, begin-of-line padded. ----

  initialState(): string {
    return BOS.repeat(this.order - 1);
  }

  nextState(state: string, char: string): string {
    if (this.order === 1) return state;
    return state.slice(1) + this.codeOf(char);
  }

  /** ln P(char | state). */
  logProbAfter(state: string, char: string): number {
    return this.codedLogProb(state, this.codeOf(char));
  }

  /** ln P(end of line | state). */
  logProbEndAfter(state: string): number {
    return this.codedLogProb(state, EOS);
  }

  // ---- Text API: `context` is the line so far, from its start. ----

  stateOf(context: string): string {
    let state = this.initialState();
    for (const g of graphemes(context)) state = this.nextState(state, g);
    return state;
  }

  /** ln P(char | context), natural log. */
  logProb(context: string, char: string): number {
    return this.logProbAfter(this.stateOf(context), char.normalize('NFC'));
  }

  /** ln P(the line ends | context). */
  logProbEnd(context: string): number {
    return this.logProbEndAfter(this.stateOf(context));
  }

  /** ln P(text as a whole line), end of line included. */
  lineLogProb(text: string): number {
    let state = this.initialState();
    let total = 0;
    for (const g of graphemes(text)) {
      total += this.logProbAfter(state, g);
      state = this.nextState(state, g);
    }
    return total + this.logProbEndAfter(state);
  }

  /** Per-character perplexity over lines, each line's end counted as one more character. */
  perplexity(texts: Iterable<string>): number {
    let logProb = 0;
    let n = 0;
    for (const text of texts) {
      logProb += this.lineLogProb(text);
      n += graphemes(text).length + 1;
    }
    return n ? Math.exp(-logProb / n) : NaN;
  }

  private codeOf(char: string): string {
    return this.codes.get(char) ?? UNK;
  }

  private codedLogProb(state: string, code: string): number {
    const symbol = code.charCodeAt(0) - SYMBOL_BASE;
    let p = this.uniform;
    let node = 0;
    for (let m = 1; m <= this.order; m++) {
      // node is a context id, and discounts has an entry for every order 1..this.order.
      const total = this.contextTotal[node]!;
      if (total === 0) break;
      const d = this.discounts[m]!;
      const count = this.eventCount.get(node * this.radix + symbol) ?? 0;
      p = (Math.max(count - d, 0) + d * this.contextTypes[node]! * p) / total;
      if (m === this.order) break;
      // A longer context containing an unseen one is unseen too.
      const next = this.contextChild.get(node * this.radix + state.charCodeAt(state.length - m) - SYMBOL_BASE);
      if (next === undefined) break;
      node = next;
    }
    return Math.log(p);
  }
}

/** Kneser-Ney continuation counts one order down: for each suffix, how many distinct symbols precede it. */
function continuationCounts(events: Map<string, number>): Map<string, number> {
  const lower = new Map<string, number>();
  for (const ngram of events.keys()) {
    const suffix = ngram.slice(1);
    lower.set(suffix, (lower.get(suffix) ?? 0) + 1);
  }
  return lower;
}
