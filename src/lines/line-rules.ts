/**
 * Erases the printed or dotted rule a line was written on. A rule is a thin
 * band of rows whose ink, with the gaps of a dotted rule bridged, runs across
 * most of the line, through the spaces between words; writing never does,
 * because words are separated by gaps wider than a dotted rule's. Strokes
 * crossing the band (descenders, loops) reach beyond it and are kept.
 *
 * Left in, a rule is often the darkest ink of the crop, so it sets the
 * contrast, widens the ink box the line is scaled by, and reads as text.
 *
 * Two methods: `bare` erases the rule only where no writing rests on it
 * (between words and past them); `band`, the first one, erased its whole band
 * and with it the bottoms of the letters sitting on it. Models trained on
 * `band` lines keep reading with it, since that is what they learned from.
 */
import type { GrayImage } from '../data/framing.js';
import { UserInputError } from '../errors.js';

export const RULE_ERASURE_METHODS = ['band', 'bare'] as const;
export type RuleErasureMethod = (typeof RULE_ERASURE_METHODS)[number];

/** The method new line datasets are loaded with. */
export const RULE_ERASURE: RuleErasureMethod = 'bare';

/** How a line dataset's lines, or a line model's training lines, had their rules erased; line datasets and models carry it in their meta. */
export interface RuleErasureMeta {
  /** Absent: no. */
  erase_rules?: boolean;
  /** Absent with erase_rules: `band`, the only method before methods were recorded. */
  rule_erasure?: RuleErasureMethod;
}

/** `file` names the meta's file in the error for a method this inkflow does not know. */
export function ruleErasureOf(meta: RuleErasureMeta, file?: string): RuleErasureMethod | false {
  if (!meta.erase_rules) return false;
  const method = meta.rule_erasure ?? 'band';
  if (!RULE_ERASURE_METHODS.includes(method)) throw new UserInputError(`${file ? `${file}: ` : ''}rule_erasure is "${method}"; this inkflow erases rules by ${RULE_ERASURE_METHODS.map((m) => `"${m}"`).join(' or ')} (is the file from a newer inkflow?)`);
  return method;
}

export function describeRuleErasure(method: RuleErasureMethod | false): string {
  if (!method) return 'rules kept (erase_rules: false)';
  return method === 'bare' ? 'rules erased where no writing is near (erase_rules: bare, the default)' : 'rules erased across their whole band (erase_rules: band, as inkflow did before December 2026)';
}

/** `meta` with its rule erasure set to `method`, and no stale method left from before. */
export function withRuleErasure<T extends object>(meta: T, method: RuleErasureMethod | false): Omit<T, keyof RuleErasureMeta> & RuleErasureMeta {
  const { erase_rules: _erase, rule_erasure: _method, ...rest } = meta as T & RuleErasureMeta;
  return { ...rest, ...(method ? { erase_rules: true, rule_erasure: method } : { erase_rules: false }) };
}

export interface RuleErasure {
  image: GrayImage;
  /** Rows found to be rule, top to bottom (empty when there is none). */
  rows: number[];
}

/** Bridged gaps up to this fraction of the image height; words are separated by more. */
const GAP = 0.15;
/** A rule row's longest bridged run spans at least this fraction of the inked columns. */
const SPAN = 0.6;
/** Bands of rule rows thicker than this fraction of the height are writing, not a rule. */
const THICKNESS = 0.12;
/** A rule runs bare (no writing above or below) for at least this many line heights somewhere. */
const BARE = 0.3;
/** In a rule row, at least this fraction of the inked pixels belong to vertical runs no taller than a rule. */
const THIN = 0.5;
/** A rule row has this many times the ink of the rows a band's thickness above and below it. */
const CONTRAST = 2;

/** `ink` is bright on zero (see inkImage). Returns a copy with rule pixels set to 0. */
export function eraseLineRules(ink: GrayImage, method: RuleErasureMethod = RULE_ERASURE, threshold = 0.3): RuleErasure {
  const { width: w, height: h, data } = ink;
  const unchanged = { image: ink, rows: [] };
  let peak = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! > peak) peak = data[i]!;
  if (peak <= 0 || w < 3 * h) return unchanged;
  const t = peak * threshold;
  const mask = new Uint8Array(w * h);
  let first = w;
  let last = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (data[y * w + x]! > t) {
        mask[y * w + x] = 1;
        if (x < first) first = x;
        if (x > last) last = x;
      }
    }
  }
  const span = last - first + 1;
  if (span < 3 * h) return unchanged;
  const gap = Math.max(2, Math.round(GAP * h));

  // Rows are looked at three at a time, so a rule drifting by a row across the line still reads as one.
  const coverage = new Float32Array(h);
  const longest = new Float32Array(h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const up = y > 0 ? row - w : row;
    const down = y + 1 < h ? row + w : row;
    let start = -1;
    let end = -1;
    let count = 0;
    let best = 0;
    for (let x = first; x <= last; x++) {
      if (!(mask[row + x]! | mask[up + x]! | mask[down + x]!)) continue;
      count++;
      if (start < 0 || x - end > gap) start = x;
      end = x;
      if (end - start + 1 > best) best = end - start + 1;
    }
    coverage[y] = count / span;
    longest[y] = best;
  }
  const maxThickness = Math.max(2, Math.round(THICKNESS * h)) + 2;
  // Writing is as dense a few rows away (inside the same letters); a rule stands out from both sides.
  const away = maxThickness + 1;
  const candidate = (y: number) => longest[y]! >= SPAN * span && coverage[y]! >= CONTRAST * Math.max(coverage[y - away] ?? 0, coverage[y + away] ?? 0);
  let any = false;
  for (let y = 0; y < h && !any; y++) any = candidate(y);
  if (!any) return unchanged;

  // A rule is thin where it is inked; a row through writing crosses strokes that run up and down.
  const run = verticalRuns(mask, w, h);
  const thin = new Float32Array(h);
  for (let y = 0; y < h; y++) {
    let inked = 0;
    let short = 0;
    for (let x = first; x <= last; x++) {
      if (!mask[y * w + x]) continue;
      inked++;
      if (run[y * w + x]! <= maxThickness) short++;
    }
    thin[y] = inked ? short / inked : 0;
  }
  const isRuleRow = (y: number): boolean => candidate(y) && Math.max(thin[y]!, thin[y - 1] ?? 0, thin[y + 1] ?? 0) >= THIN;

  const columnInk = new Uint32Array(w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) columnInk[x]! += mask[y * w + x]!;
  // Between words and past the writing a rule runs bare, with no writing above or below it. Cursive
  // joins lie on the baseline too, but only for the short way from one letter to the next.
  const longestBare = (top: number, bottom: number): number => {
    let best = 0;
    let start = -1;
    let lastInk = -1;
    for (let x = first; x <= last; x++) {
      let near = 0;
      for (let y = Math.max(0, top - 2); y <= Math.min(h - 1, bottom + 2); y++) near += mask[y * w + x]!;
      if (columnInk[x]! > near) {
        start = -1;
        continue;
      }
      let inBand = false;
      for (let y = Math.max(0, top - 1); y <= Math.min(h - 1, bottom + 1) && !inBand; y++) inBand = mask[y * w + x] === 1;
      if (!inBand) {
        if (start >= 0 && x - lastInk > gap) start = -1;
        continue;
      }
      if (start < 0) start = x;
      lastInk = x;
      best = Math.max(best, x - start + 1);
    }
    return best;
  };

  const rows: number[] = [];
  for (let y = 0; y < h; ) {
    if (!isRuleRow(y)) {
      y++;
      continue;
    }
    let end = y;
    while (end + 1 < h && isRuleRow(end + 1)) end++;
    if (end - y + 1 <= maxThickness && longestBare(y, end) >= BARE * h) for (let r = y; r <= end; r++) rows.push(r);
    y = end + 1;
  }
  if (!rows.length) return unchanged;

  const out = Float32Array.from(data);
  // A rule is rarely level: follow it piecewise, finding its rows again in each stretch of one line height.
  const drift = 3;
  for (const [top, bottom] of groupRows(rows)) {
    const lo = Math.max(0, top - drift);
    const hi = Math.min(h - 1, bottom + drift);
    for (let x0 = 0; x0 < w; x0 += h) {
      const x1 = Math.min(w, x0 + h);
      const counts = new Uint32Array(hi - lo + 1);
      for (let y = lo; y <= hi; y++) for (let x = x0; x < x1; x++) counts[y - lo]! += mask[y * w + x]!;
      let best = 0;
      for (let i = 1; i < counts.length; i++) if (counts[i]! > counts[best]!) best = i;
      if (counts[best]! < 0.2 * (x1 - x0)) continue;
      let y0 = best;
      while (y0 > 0 && counts[y0 - 1]! >= 0.5 * counts[best]!) y0--;
      let y1 = best;
      while (y1 + 1 < counts.length && counts[y1 + 1]! >= 0.5 * counts[best]!) y1++;
      // The band and one row either side (its faint edges), except strokes that leave it.
      const from = Math.max(0, lo + y0 - 1);
      const to = Math.min(h - 1, lo + y1 + 1);
      const writing = method === 'bare' ? writingBeside(mask, w, h, from, to, x0, x1) : undefined;
      for (let x = x0; x < x1; x++) {
        if (writing?.[x - x0]) continue;
        let above = 0;
        for (let y = from - 1; y >= 0 && mask[y * w + x]; y--) above++;
        let below = 0;
        for (let y = to + 1; y < h && mask[y * w + x]; y++) below++;
        if (above >= 2 || below >= 2) continue;
        for (let y = from; y <= to; y++) out[y * w + x] = 0;
      }
    }
  }
  return { image: { width: w, height: h, data: out }, rows };
}

/** How far above and below the band writing protects the rule under it, as a fraction of the height: about an x-height. */
const BESIDE = 0.3;
/** Writing protects this many columns either side of it, as a fraction of the height, so the round bottoms of letters keep their edges. */
const REACH = 0.06;

/**
 * For columns x0..x1, whether writing lies just above or below the band
 * from..to within an x-height, or a few columns aside. A letter resting on the
 * rule shares its pixels, and erasing them would cut the bottoms off o, a, e
 * and 2: the rule is erased only where it runs bare, between words and past
 * the writing, which is where it would set the ink box or read as a dash.
 */
function writingBeside(mask: Uint8Array, w: number, h: number, from: number, to: number, x0: number, x1: number): Uint8Array {
  const reach = Math.max(1, Math.round(REACH * h));
  const beside = Math.max(3, Math.round(BESIDE * h));
  const lo = Math.max(0, x0 - reach);
  const hi = Math.min(w, x1 + reach);
  const inked = new Uint8Array(hi - lo);
  for (let x = lo; x < hi; x++) {
    let found = false;
    for (let y = Math.max(0, from - beside); y < from && !found; y++) found = mask[y * w + x] === 1;
    for (let y = to + 1; y <= Math.min(h - 1, to + beside) && !found; y++) found = mask[y * w + x] === 1;
    inked[x - lo] = found ? 1 : 0;
  }
  const near = new Uint8Array(x1 - x0);
  for (let x = x0; x < x1; x++) {
    for (let d = Math.max(lo, x - reach); d < Math.min(hi, x + reach + 1); d++) {
      if (inked[d - lo]) {
        near[x - x0] = 1;
        break;
      }
    }
  }
  return near;
}

/** For every pixel, the length of the vertical run of ink it belongs to (0 off ink). */
function verticalRuns(mask: Uint8Array, w: number, h: number): Uint16Array {
  const runs = new Uint16Array(w * h);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; ) {
      if (!mask[y * w + x]) {
        y++;
        continue;
      }
      let end = y;
      while (end + 1 < h && mask[(end + 1) * w + x]) end++;
      for (let r = y; r <= end; r++) runs[r * w + x] = end - y + 1;
      y = end + 1;
    }
  }
  return runs;
}

function groupRows(rows: readonly number[]): [number, number][] {
  const bands: [number, number][] = [];
  for (const r of rows) {
    const band = bands[bands.length - 1];
    if (band && r === band[1] + 1) band[1] = r;
    else bands.push([r, r]);
  }
  return bands;
}
