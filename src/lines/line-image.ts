/**
 * A text line as the line model sees it: ink bright on a zero background (so
 * padding a batch with zeros is blank paper), trimmed to its ink, scaled to a
 * fixed height with its own width, contrast stretched to 0..255.
 */
import { inkImage, resample, type GrayImage } from '../data/framing.js';
import { UserInputError } from '../errors.js';
import { eraseLineRules, type RuleErasureMethod } from './line-rules.js';

export interface LineImage {
  width: number;
  height: number;
  /** Row-major, ink 255 on 0. */
  data: Uint8Array;
  /** Where column x came from in the source image: x0 + x / scale. */
  source?: { x0: number; scale: number };
}

export interface NormalizeOptions {
  height: number;
  /** Widest line accepted after scaling, in pixels; wider ones are an error naming the source. */
  maxWidth?: number;
  /** Ink threshold for trimming, as a fraction of the peak. */
  trimThreshold?: number;
  /** Where the line came from, for error messages. */
  source?: string;
  /** What to do about a line too wide to read (default: give line images, not a page). */
  tooWideFix?: string;
  /** Erase the printed or dotted rule the line was written on, by this method (see line-rules.ts). */
  eraseRules?: RuleErasureMethod | false;
}

/** Source widths beyond this are refused before any work: a 20,000 px line is no text line. */
export const MAX_SOURCE_WIDTH = 12_000;

export function normalizeLine(img: GrayImage, options: NormalizeOptions): LineImage {
  const { height } = options;
  const where = options.source ? `${options.source}: ` : '';
  if (img.width > MAX_SOURCE_WIDTH) throw new UserInputError(`${where}line image is ${img.width} px wide (over ${MAX_SOURCE_WIDTH}); ${options.tooWideFix ?? 'is it a whole page? Give line images, or a page with ALTO/PAGE XML'}`);
  const ink = options.eraseRules ? eraseLineRules(inkImage(img, 'auto'), options.eraseRules).image : inkImage(img, 'auto');
  const box = trimBox(ink, options.trimThreshold ?? 0.25);
  if (!box) return { width: 1, height, data: new Uint8Array(height) };
  const cropped = crop(ink, box);
  const margin = Math.round(cropped.height * 0.08);
  const padded = pad(cropped, margin);
  const width = Math.max(1, Math.round((padded.width * height) / padded.height));
  const maxWidth = options.maxWidth ?? 4096;
  if (width > maxWidth) throw new UserInputError(`${where}line is ${width} px wide at height ${height} (over ${maxWidth}); is it several lines side by side? Split it, or raise max_width`);
  const scaled = resample(padded, width, height);
  let peak = 0;
  for (let i = 0; i < scaled.length; i++) if (scaled[i]! > peak) peak = scaled[i]!;
  const gain = peak > 0 ? 255 / peak : 0;
  const data = new Uint8Array(scaled.length);
  for (let i = 0; i < scaled.length; i++) data[i] = Math.round(scaled[i]! * gain);
  return { width, height, data, source: { x0: box.x0 - margin, scale: height / padded.height } };
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Rows and columns holding ink above the threshold; isolated specks at the edges don't widen it much. */
function trimBox(img: GrayImage, fraction: number): Box | undefined {
  const { width: w, height: h, data } = img;
  let peak = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! > peak) peak = data[i]!;
  if (peak <= 0) return undefined;
  const t = peak * fraction;
  const cols = new Uint32Array(w);
  const rows = new Uint32Array(h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (data[y * w + x]! > t) {
        cols[x]!++;
        rows[y]!++;
      }
    }
  }
  const span = (counts: Uint32Array) => {
    let first = 0;
    while (first < counts.length && counts[first] === 0) first++;
    let last = counts.length - 1;
    while (last >= first && counts[last] === 0) last--;
    return [first, last + 1] as const;
  };
  const [x0, x1] = span(cols);
  const [y0, y1] = span(rows);
  return x1 > x0 && y1 > y0 ? { x0, y0, x1, y1 } : undefined;
}

function crop(img: GrayImage, box: Box): GrayImage {
  const w = box.x1 - box.x0;
  const h = box.y1 - box.y0;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) out.set(img.data.subarray((box.y0 + y) * img.width + box.x0, (box.y0 + y) * img.width + box.x1), y * w);
  return { width: w, height: h, data: out };
}

function pad(img: GrayImage, margin: number): GrayImage {
  const w = img.width + 2 * margin;
  const h = img.height + 2 * margin;
  const out = new Float32Array(w * h);
  for (let y = 0; y < img.height; y++) out.set(img.data.subarray(y * img.width, (y + 1) * img.width), (y + margin) * w + margin);
  return { width: w, height: h, data: out };
}
