/**
 * Finds the text lines of a handwritten page, in reading order. The page is shrunk to a working size,
 * binarized (Otsu) and deskewed; the long thin runs of ruled or printed rules are erased; the horizontal
 * projection of what is left peaks once per text line, and the valleys between peaks separate lines.
 * Ink components are given to the line where their mass lies (a component that bridges two lines, a
 * descender touching the next line's capitals, is cut at the valley); a band's components far apart
 * horizontally become separate lines; a band too tall for one line is split again along its own lean;
 * tiny marks alone in a margin are dropped.
 */
import type { GrayImage } from '../data/framing.js';
import { deskew, estimateSkew, otsuThreshold } from '../phrases/segment.js';
import { boundingBox, type LineBox, type Point } from './geometry.js';
import { connectedComponents, eraseRules, halve, shrinkToInk, type Component } from './page-ink.js';

export interface FoundLine {
  box: LineBox;
  polygon: Point[];
  baseline: Point[];
}

export interface PageLayoutOptions {
  /** Width (px) the page is shrunk to for the analysis; coordinates come back at full size. */
  workingWidth?: number;
  /** Largest page skew searched, in degrees. */
  maxSkew?: number;
  /** A horizontal run at least this fraction of the page's width is a rule, not writing. */
  ruleLength?: number;
}

/**
 * A line under construction, in working (shrunk, deskewed) coordinates. Its rows may lean: row r of a
 * band holds the pixels with y - (x - cx)·slope = r, so a line written aslant is still one band.
 */
interface Band {
  slope: number;
  cx: number;
  top: number;
  bottom: number; // exclusive: the valleys around the band's peak
  parts: Component[];
}

/** The component labels of the working page, which splitting a component between two lines extends. */
interface Ink {
  labels: Int32Array;
  components: Component[];
  w: number;
}

export function findTextLines(page: GrayImage, options: PageLayoutOptions = {}): FoundLine[] {
  const { workingWidth = 850, maxSkew = 5, ruleLength = 0.12 } = options;
  const scale = Math.max(1, page.width / workingWidth);
  const shrunk = shrinkToInk(page, scale);
  const threshold = Math.max(otsuThreshold(shrunk.data), 40);
  const mask = new Float32Array(shrunk.data.length);
  for (let i = 0; i < mask.length; i++) mask[i] = shrunk.data[i]! > threshold ? 255 : 0; // mask is as long as shrunk.data
  const binary = { width: shrunk.width, height: shrunk.height, data: mask };
  // Half the working size is plenty to measure the skew, and four times cheaper to search.
  const skew = estimateSkew(halve(binary), maxSkew, 0.25, { minDegrees: 0.25, minGain: 1.02 });
  const straight = deskew(binary, skew);
  const pad = (straight.height - shrunk.height) / 2;
  const { width: w, height: h } = straight;
  const pixels = new Uint8Array(w * h);
  for (let i = 0; i < pixels.length; i++) pixels[i] = straight.data[i]! >= 128 ? 1 : 0; // w × h, straight's size
  eraseRules(pixels, w, h, Math.round(ruleLength * w));

  const ink: Ink = { ...connectedComponents(pixels, w, h), w };
  const heights = ink.components.filter((c) => c.pixels >= 8).map((c) => c.y1 - c.y0);
  if (!heights.length) return [];
  const charHeight = Math.max(4, median(heights));
  const speck = Math.max(4, 0.02 * charHeight * charHeight);
  // Flat marks (rule remnants, dashes) and specks neither make nor split lines; some join a line at the end.
  const isFlat = (c: Component) => c.y1 - c.y0 <= Math.max(2, 0.25 * charHeight) && c.x1 - c.x0 >= 3 * (c.y1 - c.y0);
  const marks = ink.components.filter((c) => c.pixels >= speck && !isFlat(c));
  const small = ink.components.filter((c) => c.pixels >= 2 && (c.pixels < speck || isFlat(c)));

  const { lines, spacing } = splitIntoLines(marks, { slope: 0, cx: 0 }, ink, charHeight);
  const typicalHeight = median(lines.map((l) => bottom(l) - top(l)));
  // Lines that lean differently from the page blur together in its profile: split them again on their own lean.
  const refined = lines.flatMap((line) => (bottom(line) - top(line) > 1.6 * typicalHeight ? resplitOnOwnLean(line, ink, charHeight, spacing) : [line]));
  const kept = dropStrayMarks(refined, charHeight);
  attachSmallMarks(kept, small, ink, charHeight);
  const extents = new Map(kept.map((b) => [b, { top: top(b), bottom: bottom(b), left: left(b) }]));
  kept.sort((a, b) => {
    const ea = extents.get(a)!, eb = extents.get(b)!;
    const overlap = Math.min(ea.bottom, eb.bottom) - Math.max(ea.top, eb.top) > 0.5 * Math.min(ea.bottom - ea.top, eb.bottom - eb.top);
    return overlap ? ea.left - eb.left : ea.top - eb.top;
  });

  const tan = Math.tan((skew * Math.PI) / 180);
  const toPage = (x: number, y: number): Point => {
    // Undo the shear (deskew moved row y to y + pad - (x - w/2)·tan), then the shrink.
    const original = y - pad + (x - w / 2) * tan;
    return [clamp(Math.round(x * scale), page.width), clamp(Math.round(original * scale), page.height)];
  };
  return kept.map((line) => {
    const polygon = envelope(line, ink, charHeight).map(([x, y]) => toPage(x, y));
    const base = baselineOf(line, ink);
    const x0 = left(line), x1 = right(line);
    const yAt = (x: number) => base + (x - line.cx) * line.slope;
    const box = boundingBox(polygon);
    const inBox = ([x, y]: Point): Point => [x, Math.min(box.y + box.height, Math.max(box.y, y))];
    return { box, polygon, baseline: [inBox(toPage(x0, yAt(x0))), inBox(toPage(x1, yAt(x1)))] };
  });
}

/** Bands from the marks' row profile along `lean`, the marks given to them, and bands cut at wide gaps. */
function splitIntoLines(marks: Component[], lean: { slope: number; cx: number }, ink: Ink, charHeight: number, knownSpacing?: number): { lines: Band[]; spacing?: number } {
  const { profile, first } = rowProfile(marks, lean, ink);
  const { bands: rows, spacing } = bandsFromProfile(profile, charHeight, knownSpacing);
  const bands = rows.map(([t, b]) => ({ ...lean, top: t + first, bottom: b + first, parts: [] as Component[] }));
  assignToBands(marks, bands, ink);
  return { lines: bands.flatMap((band) => splitByGaps(band, charHeight * 4)), spacing };
}

function resplitOnOwnLean(line: Band, ink: Ink, charHeight: number, spacing: number | undefined): Band[] {
  const x0 = left(line), y0 = top(line), width = right(line) - x0, height = bottom(line) - y0;
  const crop = new Float32Array(width * height);
  for (const p of line.parts) {
    for (let y = p.y0; y < p.y1; y++) for (let x = p.x0; x < p.x1; x++) if (ink.labels[y * ink.w + x] === p.id) crop[(y - y0) * width + x - x0] = 255;
  }
  const degrees = estimateSkew({ width, height, data: crop }, 4, 0.25, { minDegrees: 0, minGain: 1 });
  const lean = { slope: Math.tan((degrees * Math.PI) / 180), cx: x0 + width / 2 };
  const pieces = splitIntoLines(line.parts, lean, ink, charHeight, spacing).lines;
  if (pieces.length > 1) return pieces;
  // A short line under a long one barely shows in the profile; its words' own rows still stand apart.
  const rows = wordRows(line.parts, lean, spacing ?? 2 * charHeight);
  if (rows.length < 2) return [line];
  const bands = rows.map(([t, b]) => ({ ...lean, top: t, bottom: b, parts: [] as Component[] }));
  assignToBands(line.parts, bands, ink);
  return bands.flatMap((band) => splitByGaps(band, charHeight * 4));
}

/**
 * Leaning row ranges of the rows of words: word-sized components grouped by the leaning row of their
 * centre of mass, a new row wherever two successive centres lie more than half a line spacing apart.
 */
function wordRows(parts: Component[], lean: { slope: number; cx: number }, spacing: number): [number, number][] {
  const typical = median(parts.map((p) => p.pixels));
  const centres = parts
    .filter((p) => p.pixels >= typical)
    .map((p) => leanRow(lean, (p.x0 + p.x1) / 2, p.rowSum / p.pixels))
    .sort((a, b) => a - b);
  // Each group is a run of close centres (sorted), kept as its first and last.
  const groups: { first: number; last: number }[] = [];
  for (const c of centres) {
    const group = groups.at(-1);
    if (group && c - group.last <= 0.5 * spacing) group.last = c;
    else groups.push({ first: c, last: c });
  }
  if (groups.length < 2) return [];
  const edges = groups.slice(1).map((g, i) => Math.floor((groups[i]!.last + g.first) / 2)); // groups[i] is the group before g
  return groups.map((_, i) => [edges[i - 1] ?? -Infinity, edges[i] ?? Infinity]);
}

const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
const top = (b: Band) => Math.min(...b.parts.map((p) => p.y0));
const bottom = (b: Band) => Math.max(...b.parts.map((p) => p.y1));
const left = (b: Band) => Math.min(...b.parts.map((p) => p.x0));
const right = (b: Band) => Math.max(...b.parts.map((p) => p.x1));
const leanRow = (lean: { slope: number; cx: number }, x: number, y: number) => y - (x - lean.cx) * lean.slope;

/** The leaning rows a component's box spans. */
function leanRange(c: Component, lean: { slope: number; cx: number }): [number, number] {
  const rows = [leanRow(lean, c.x0, c.y0), leanRow(lean, c.x1 - 1, c.y0), leanRow(lean, c.x0, c.y1 - 1), leanRow(lean, c.x1 - 1, c.y1 - 1)];
  return [Math.floor(Math.min(...rows)), Math.floor(Math.max(...rows))];
}

/** The q-quantile (0 <= q < 1) of values; NaN when there are none. */
function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length * q)] ?? NaN;
}

const median = (values: number[]) => quantile(values, 0.5);

/** Ink per leaning row, counting only the marks (specks and erased rules make no lines); rows from `first`. */
function rowProfile(marks: Component[], lean: { slope: number; cx: number }, ink: Ink): { profile: Float64Array; first: number } {
  let first = Infinity, last = -Infinity;
  for (const c of marks) {
    const [a, b] = leanRange(c, lean);
    first = Math.min(first, a);
    last = Math.max(last, b);
  }
  if (!marks.length) return { profile: new Float64Array(0), first: 0 };
  const profile = new Float64Array(last - first + 1);
  for (const c of marks) {
    for (let y = c.y0; y < c.y1; y++) {
      // Every leaning row of c lies within first..last (leanRange), the profile's span.
      for (let x = c.x0; x < c.x1; x++) if (ink.labels[y * ink.w + x] === c.id) profile[Math.floor(leanRow(lean, x, y)) - first]!++;
    }
  }
  return { profile, first };
}

/**
 * Bands between the valleys of the smoothed row profile. Peaks split by a shallow valley, or closer than
 * half the line spacing (a line's capitals and its x-height band), merge. The spacing comes from the
 * clearly separate peaks (valley below half the lower one) unless the caller knows it.
 */
function bandsFromProfile(profile: Float64Array, charHeight: number, knownSpacing?: number): { bands: [number, number][]; spacing?: number } {
  const smooth = gaussian(profile, Math.max(1, charHeight * 0.3));
  // Peaks and valleys are rows of the profile, so smooth[row] is in range throughout.
  const at = (row: number) => smooth[row]!;
  const local: number[] = [];
  for (let y = 1; y + 1 < smooth.length; y++) if (at(y) > 0 && at(y) >= at(y - 1) && at(y) > at(y + 1)) local.push(y);
  const valleyBetween = (a: number, b: number) => {
    let lowest = a;
    for (let y = a; y <= b; y++) if (at(y) < at(lowest)) lowest = y;
    return lowest;
  };
  /** Drops the lower peak of the most mergeable pair until no pair is. */
  const merge = (start: number[], maxRatio: number, minDistance: number) => {
    const peaks = [...start];
    for (;;) {
      let worst = -1, worstScore = 0;
      for (let i = 0; i + 1 < peaks.length; i++) {
        const [upper, lower] = [peaks[i]!, peaks[i + 1]!];
        const ratio = at(valleyBetween(upper, lower)) / Math.min(at(upper), at(lower));
        const score = Math.max(ratio / maxRatio, minDistance / (lower - upper));
        if (score > 1 && score > worstScore) [worst, worstScore] = [i, score];
      }
      if (worst < 0) return peaks;
      peaks.splice(at(peaks[worst]!) >= at(peaks[worst + 1]!) ? worst + 1 : worst, 1);
    }
  };
  let spacing = knownSpacing;
  if (spacing === undefined) {
    const clear = merge(local, 0.5, charHeight * 0.6);
    // The lower quartile of the gaps: blank lines between paragraphs only ever widen them.
    if (clear.length >= 3) spacing = quantile(clear.slice(1).map((p, i) => p - clear[i]!), 0.25); // clear[i] is the peak before p
  }
  const peaks = spacing === undefined ? merge(local, 0.5, charHeight * 0.6) : merge(local, 0.85, spacing * 0.55);
  const bands: [number, number][] = [];
  peaks.forEach((peak, i) => {
    const above = peaks[i - 1];
    const below = peaks[i + 1];
    bands.push([above === undefined ? 0 : valleyBetween(above, peak), below === undefined ? smooth.length : valleyBetween(peak, below)]);
  });
  return { bands, spacing };
}

function gaussian(values: Float64Array, sigma: number): Float64Array {
  const radius = Math.ceil(sigma * 3);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    let s = 0, k = 0;
    for (let j = -radius; j <= radius; j++) {
      if (i + j < 0 || i + j >= values.length) continue;
      // 0 <= i + j < values.length, and |j| <= radius indexes the 2·radius + 1 kernel.
      s += values[i + j]! * kernel[j + radius]!;
      k += kernel[j + radius]!;
    }
    out[i] = s / k;
  }
  return out;
}

/**
 * Gives each component to the band holding its centre of mass; one that puts a fair share of its ink in
 * two bands (touching lines) is cut along the valley, each piece relabelled as a component of its own.
 */
function assignToBands(marks: Component[], bands: Band[], ink: Ink): void {
  const lean = bands[0];
  if (!lean) return;
  /** The band holding a leaning row: an index of bands, found by bisection. */
  const bandAt = (row: number) => {
    let lo = 0, hi = bands.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (bands[mid]!.top <= row) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const band = (index: number) => bands[index]!; // indices come from bandAt
  const { labels, w } = ink;
  for (const c of marks) {
    const [r0, r1] = leanRange(c, lean);
    if (bandAt(r0) === bandAt(r1)) {
      band(bandAt(r0)).parts.push(c);
      continue;
    }
    const share = new Map<number, number>();
    let rowSum = 0;
    for (let y = c.y0; y < c.y1; y++) {
      for (let x = c.x0; x < c.x1; x++) {
        if (labels[y * w + x] !== c.id) continue;
        const r = leanRow(lean, x, y);
        const b = bandAt(Math.floor(r));
        share.set(b, (share.get(b) ?? 0) + 1);
        rowSum += r;
      }
    }
    const own = bandAt(Math.floor(rowSum / c.pixels));
    const shared = [...share.entries()].filter(([, n]) => n >= 0.25 * c.pixels).map(([b]) => b);
    if (shared.length < 2) {
      band(own).parts.push(c);
      continue;
    }
    const pieces = new Map<number, Component>();
    for (const b of shared) {
      const piece: Component = { id: ink.components.length, x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity, pixels: 0, rowSum: 0 };
      ink.components.push(piece);
      pieces.set(b, piece);
      band(b).parts.push(piece);
    }
    for (let y = c.y0; y < c.y1; y++) {
      for (let x = c.x0; x < c.x1; x++) {
        if (labels[y * w + x] !== c.id) continue;
        const piece = pieces.get(bandAt(Math.floor(leanRow(lean, x, y)))) ?? pieces.get(own) ?? pieces.get(shared[0]!)!;
        labels[y * w + x] = piece.id;
        piece.pixels++;
        piece.rowSum += y;
        piece.x0 = Math.min(piece.x0, x);
        piece.y0 = Math.min(piece.y0, y);
        piece.x1 = Math.max(piece.x1, x + 1);
        piece.y1 = Math.max(piece.y1, y + 1);
      }
    }
  }
}

/**
 * Gives punctuation, accents and dashes to the line they sit in: a speck within the line's rows and
 * reach, a flat mark only above the baseline (below it, flat marks are what is left of a rule).
 */
function attachSmallMarks(lines: Band[], marks: Component[], ink: Ink, charHeight: number): void {
  const frames = lines.map((line) => ({ line, top: top(line), bottom: bottom(line), left: left(line) - 1.5 * charHeight, right: right(line) + 1.5 * charHeight, base: baselineOf(line, ink) }));
  for (const mark of marks) {
    const cx = (mark.x0 + mark.x1) / 2, cy = (mark.y0 + mark.y1) / 2;
    const flat = mark.pixels >= 2 && mark.x1 - mark.x0 >= 3 * (mark.y1 - mark.y0);
    const frame = frames.find((f) => cy >= f.top && cy < f.bottom && cx >= f.left && cx <= f.right && (!flat || leanRow(f.line, cx, cy) < f.base - 1));
    frame?.line.parts.push(mark);
  }
}

/** A band's components in runs separated by wide horizontal gaps: a page reference beside nothing, two columns. */
function splitByGaps(band: Band, minGap: number): Band[] {
  const [first, ...rest] = [...band.parts].sort((a, b) => a.x0 - b.x0);
  if (!first) return [];
  const out: Band[] = [];
  let current: Band = { ...band, parts: [first] };
  let reach = first.x1;
  for (const p of rest) {
    if (p.x0 - reach > minGap) {
      out.push(current);
      current = { ...band, parts: [] };
    }
    current.parts.push(p);
    reach = Math.max(reach, p.x1);
  }
  out.push(current);
  return out;
}

/** Drops would-be lines that are only a few small marks: specks, stray dots and ticks in the margins. */
function dropStrayMarks(lines: Band[], charHeight: number): Band[] {
  const inkOf = (b: Band) => b.parts.reduce((s, p) => s + p.pixels, 0);
  if (!lines.length) return lines;
  const typical = median(lines.map(inkOf));
  // Rule remnants are long but flat: a line of writing is at least half a character high.
  return lines.filter((b) => (inkOf(b) >= 0.1 * typical || right(b) - left(b) >= 3 * charHeight) && bottom(b) - top(b) >= 0.5 * charHeight);
}

/**
 * The line's outline: the top and bottom of its own ink over slices about a character high wide, padded a
 * little, so a crop leaves out the neighbours' ascenders and descenders.
 */
function envelope(line: Band, { labels, w }: Ink, charHeight: number): Point[] {
  const x0 = left(line), x1 = right(line);
  const slice = Math.max(2, Math.round(charHeight));
  const n = Math.max(1, Math.ceil((x1 - x0) / slice));
  const tops = new Array<number>(n).fill(Infinity);
  const bottoms = new Array<number>(n).fill(-Infinity);
  for (const part of line.parts) {
    const id = part.id;
    for (let y = part.y0; y < part.y1; y++) {
      for (let x = part.x0; x < part.x1; x++) {
        if (labels[y * w + x] !== id) continue;
        const s = Math.min(n - 1, Math.floor((x - x0) / slice)); // 0 <= s < n
        if (y < tops[s]!) tops[s] = y;
        if (y + 1 > bottoms[s]!) bottoms[s] = y + 1;
      }
    }
  }
  // Slices without ink (word gaps) take the line's overall band so the outline stays one piece.
  const lineTop = top(line), lineBottom = bottom(line);
  const middleTop = median(tops.filter(Number.isFinite).concat(lineTop));
  const middleBottom = median(bottoms.filter(Number.isFinite).concat(lineBottom));
  const pad = 1;
  const upper: Point[] = [], lower: Point[] = [];
  for (let s = 0; s < n; s++) {
    const sx0 = x0 + s * slice, sx1 = Math.min(x1, sx0 + slice);
    const sliceTop = tops[s]!, sliceBottom = bottoms[s]!;
    const t = (Number.isFinite(sliceTop) ? sliceTop : middleTop) - pad;
    const b = (Number.isFinite(sliceBottom) ? sliceBottom : middleBottom) + pad;
    // The outline's ends reach a pad beyond the ink.
    upper.push([s === 0 ? sx0 - pad : sx0, t], [s === n - 1 ? sx1 + pad : sx1, t]);
    lower.push([s === 0 ? sx0 + pad : sx0, b], [s === n - 1 ? sx1 - pad : sx1, b]);
  }
  return [...upper, ...lower.reverse()];
}

/** The leaning row under the line's densest band (the x-height): where ink per row falls below a quarter of its peak. */
function baselineOf(line: Band, ink: Ink): number {
  const { profile, first } = rowProfile(line.parts, line, ink);
  // peak and r + 1 stay below profile.length.
  let peak = 0;
  for (let i = 1; i < profile.length; i++) if (profile[i]! > profile[peak]!) peak = i;
  let r = peak;
  while (r + 1 < profile.length && profile[r + 1]! >= 0.25 * profile[peak]!) r++;
  return first + r + 1;
}
