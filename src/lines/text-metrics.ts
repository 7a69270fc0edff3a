/**
 * Recognition error measures: Levenshtein alignment with its edit operations, character and word
 * error rates, the "letters only, accents and case ignored" normalisation, and confusion counts.
 * Characters are grapheme clusters of NFC text; words are whitespace-separated tokens.
 */
import { graphemes } from './graphemes.js';
import { editDistance } from '../util/text.js';

export type EditOp<T> =
  | { op: 'equal'; ref: T; hyp: T }
  | { op: 'substitute'; ref: T; hyp: T }
  | { op: 'delete'; ref: T }
  | { op: 'insert'; hyp: T };

/** A minimum-cost edit script turning `ref` into `hyp` (unit costs), and its cost. */
export function align<T>(ref: readonly T[], hyp: readonly T[]): { distance: number; ops: EditOp<T>[] } {
  const n = ref.length;
  const m = hyp.length;
  const width = m + 1;
  // The (n + 1) × (m + 1) cost table; i <= n and j <= m keep every index below inside it and inside ref and hyp.
  const cost = new Uint32Array((n + 1) * width);
  for (let j = 0; j <= m; j++) cost[j] = j;
  for (let i = 1; i <= n; i++) {
    cost[i * width] = i;
    for (let j = 1; j <= m; j++) {
      const diagonal = cost[(i - 1) * width + j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      cost[i * width + j] = Math.min(diagonal, cost[(i - 1) * width + j]! + 1, cost[i * width + j - 1]! + 1);
    }
  }
  const ops: EditOp<T>[] = [];
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const here = cost[i * width + j];
    if (i > 0 && j > 0 && here === cost[(i - 1) * width + j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1)) {
      const [r, h] = [ref[i - 1]!, hyp[j - 1]!];
      ops.push(r === h ? { op: 'equal', ref: r, hyp: h } : { op: 'substitute', ref: r, hyp: h });
      i--;
      j--;
    } else if (i > 0 && here === cost[(i - 1) * width + j]! + 1) {
      ops.push({ op: 'delete', ref: ref[--i]! });
    } else {
      ops.push({ op: 'insert', hyp: hyp[--j]! });
    }
  }
  return { distance: cost[n * width + m]!, ops: ops.reverse() };
}

/** Edit distance only, in O(|hyp|) memory: the project's one Levenshtein, shared with "did you mean". */
export { editDistance };

/** Errors against a reference: `errors` edits over `length` reference units. */
export interface ErrorCount {
  errors: number;
  length: number;
}

/** errors / length for one line or summed over a corpus (total edits / total reference units). */
export function errorRate(counts: ErrorCount | readonly ErrorCount[]): number {
  const list = Array.isArray(counts) ? counts : [counts as ErrorCount];
  const errors = list.reduce((s, c) => s + c.errors, 0);
  const length = list.reduce((s, c) => s + c.length, 0);
  if (length === 0) return errors === 0 ? 0 : 1;
  return errors / length;
}

export function words(text: string): string[] {
  return text.normalize('NFC').split(/\s+/u).filter(Boolean);
}

/** Character errors: edit distance between the graphemes of ref and hyp. */
export function cer(ref: string, hyp: string): ErrorCount {
  const r = graphemes(ref);
  return { errors: editDistance(r, graphemes(hyp)), length: r.length };
}

/** Word errors: edit distance between whitespace-separated tokens (punctuation stays on its word). */
export function wer(ref: string, hyp: string): ErrorCount {
  const r = words(ref);
  return { errors: editDistance(r, words(hyp)), length: r.length };
}

/** Letters only, accents and case ignored: NFD, combining marks removed, case folded, non-letters dropped. */
export function lettersOnly(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\P{L}/gu, '').normalize('NFC');
}

export interface Confusions {
  /** Reference character read as another, most frequent first. */
  substitutions: { ref: string; hyp: string; count: number }[];
  /** Reference characters missing from the reading. */
  deletions: { char: string; count: number }[];
  /** Characters read that the reference does not have. */
  insertions: { char: string; count: number }[];
}

/** Counts character confusions over (reference, reading) pairs, from each pair's alignment. */
export function confusions(pairs: Iterable<{ ref: string; hyp: string }>): Confusions {
  const substitutions = new Map<string, { ref: string; hyp: string; count: number }>();
  const deletions = new Map<string, number>();
  const insertions = new Map<string, number>();
  for (const { ref, hyp } of pairs) {
    for (const e of align(graphemes(ref), graphemes(hyp)).ops) {
      if (e.op === 'substitute') {
        const key = `${e.ref}\u0000${e.hyp}`;
        const entry = substitutions.get(key) ?? substitutions.set(key, { ref: e.ref, hyp: e.hyp, count: 0 }).get(key)!;
        entry.count++;
      } else if (e.op === 'delete') deletions.set(e.ref, (deletions.get(e.ref) ?? 0) + 1);
      else if (e.op === 'insert') insertions.set(e.hyp, (insertions.get(e.hyp) ?? 0) + 1);
    }
  }
  // Most frequent first; ties in character order so reports do not depend on input order.
  const byCount = <E extends { count: number }>(key: (e: E) => string) => (a: E, b: E): number => b.count - a.count || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  const list = (m: Map<string, number>) => [...m].map(([char, count]) => ({ char, count })).sort(byCount((e) => e.char));
  return {
    substitutions: [...substitutions.values()].sort(byCount((e) => `${e.ref}\u0000${e.hyp}`)),
    deletions: list(deletions),
    insertions: list(insertions),
  };
}
