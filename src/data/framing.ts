/**
 * EMNIST-style preprocessing of one grayscale glyph: light ink on dark, cropped
 * to the ink, centred in a square with a border, resampled by exact area
 * averaging (a summed-area table), peak scaled to 255. Used for training data,
 * real crops given to `predict`, and segmented phrase characters alike.
 */

export interface GrayImage {
  width: number;
  height: number;
  /** Row-major intensities 0..255. */
  data: Float32Array | Uint8Array | Uint8ClampedArray;
}

/** Luminance of RGBA pixels; transparent pixels count as paper (white). */
export function rgbaToGray(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): GrayImage {
  const out = new Float32Array(width * height);
  // rgba holds 4 bytes per pixel of out: every index below is in range.
  for (let i = 0; i < out.length; i++) {
    const a = rgba[i * 4 + 3]! / 255;
    const lum = 0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!;
    out[i] = lum * a + 255 * (1 - a);
  }
  return { width, height, data: out };
}

/** Median of the outermost pixels: paper is light when it is above mid-grey. */
export function isDarkOnLight(img: GrayImage): boolean {
  const { width: w, height: h, data } = img;
  const border: number[] = [];
  // x < w and y < h: the first and last rows and columns of a w×h image.
  for (let x = 0; x < w; x++) border.push(data[x]!, data[(h - 1) * w + x]!);
  for (let y = 0; y < h; y++) border.push(data[y * w]!, data[y * w + w - 1]!);
  border.sort((a, b) => a - b);
  return (border[border.length >> 1] ?? 0) > 127;
}

/** Ink as bright-on-dark with the paper level removed (background → 0). */
export function inkImage(img: GrayImage, invert: boolean | 'auto'): GrayImage {
  const flip = invert === 'auto' ? isDarkOnLight(img) : invert;
  const n = img.data.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = flip ? 255 - img.data[i]! : img.data[i]!;
  const { kth: background, max: peak } = orderStatistics(out, Math.floor(n * 0.5));
  // Paper is the typical pixel; anything close to it is noise, not ink.
  const floor = Math.min(background + 0.1 * (peak - background), peak);
  const range = Math.max(peak - floor, 1e-6);
  for (let i = 0; i < n; i++) out[i] = Math.max(0, (out[i]! - floor) / range) * 255;
  return { width: img.width, height: img.height, data: out };
}

/**
 * The k-th smallest value (0-based) and the largest, exactly, without sorting
 * the image: intensities lie in 0..255, so a 256-bin histogram finds the bin
 * holding the k-th value. Paper makes that bin hold most pixels, usually all
 * equal; only a bin of differing values is sorted.
 */
export function orderStatistics(values: Float32Array, k: number): { kth: number; max: number } {
  const counts = new Uint32Array(256);
  const lows = new Float32Array(256).fill(Infinity);
  const highs = new Float32Array(256).fill(-Infinity);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const b = v <= 0 ? 0 : v >= 255 ? 255 : v | 0;
    counts[b]!++;
    if (v < lows[b]!) lows[b] = v;
    if (v > highs[b]!) highs[b] = v;
  }
  let max = -Infinity;
  for (let b = 255; b >= 0; b--) {
    if (counts[b]) {
      max = highs[b]!;
      break;
    }
  }
  let target = 0;
  let below = 0;
  while (below + counts[target]! <= k) below += counts[target++]!;
  if (lows[target] === highs[target]) return { kth: lows[target]!, max };
  const inBin = new Float32Array(counts[target]!);
  let j = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if ((v <= 0 ? 0 : v >= 255 ? 255 : v | 0) === target) inBin[j++] = v;
  }
  inBin.sort();
  return { kth: inBin[k - below]!, max };
}

export interface Box {
  x0: number;
  y0: number;
  x1: number; // exclusive
  y1: number; // exclusive
}

export function inkBox(img: GrayImage, thresholdFraction = 0.2): Box | undefined {
  const { width: w, height: h, data } = img;
  let peak = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! > peak) peak = data[i]!;
  if (peak <= 0) return undefined;
  const t = peak * thresholdFraction;
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (data[y * w + x]! > t) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? undefined : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/**
 * Crops `img` (light ink on dark) to its ink, centres it in a square and
 * resamples to `size`×`size` with `border` pixels of margin. Returns zeros
 * when there is no ink.
 */
export function frameGlyph(img: GrayImage, size = 28, border = 2, box = inkBox(img)): Uint8Array {
  const out = new Uint8Array(size * size);
  if (!box) return out;
  const cw = box.x1 - box.x0;
  const ch = box.y1 - box.y0;
  const side = Math.max(cw, ch);
  const inner = size - 2 * border;
  // Square source window centred on the ink box, in source coordinates.
  const sx0 = box.x0 + cw / 2 - side / 2;
  const sy0 = box.y0 + ch / 2 - side / 2;
  const step = side / inner;
  const sat = summedAreaTable(img);
  const values = new Float32Array(inner * inner);
  let peak = 0;
  for (let oy = 0; oy < inner; oy++) {
    for (let ox = 0; ox < inner; ox++) {
      const ax = sx0 + ox * step;
      const ay = sy0 + oy * step;
      // Shrinking averages the covered area; enlarging (small NIST letters) interpolates,
      // since area sampling would copy source pixels into visible blocks.
      const v = step >= 1
        ? areaSum(sat, img.width, img.height, ax, ay, ax + step, ay + step) / (step * step)
        : sampleBilinear(img.data, img.width, img.height, ax + step / 2 - 0.5, ay + step / 2 - 0.5);
      values[oy * inner + ox] = v;
      if (v > peak) peak = v;
    }
  }
  const gain = peak > 0 ? 255 / peak : 0;
  for (let oy = 0; oy < inner; oy++) {
    for (let ox = 0; ox < inner; ox++) out[(oy + border) * size + ox + border] = Math.round(Math.min(255, values[oy * inner + ox]! * gain));
  }
  return out;
}

/** Bilinear sample at a real-valued position of a w×h image stored from `offset`; outside is 0. */
export function sampleBilinear(data: ArrayLike<number>, w: number, h: number, x: number, y: number, offset = 0): number {
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const fx = x - x0, fy = y - y0;
  const at = (xx: number, yy: number) => (xx >= 0 && yy >= 0 && xx < w && yy < h ? data[offset + yy * w + xx]! : 0);
  return (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
}

/** (w+1)×(h+1) cumulative sums in float64 for exactness on large images. */
function summedAreaTable(img: GrayImage): Float64Array {
  const { width: w, height: h, data } = img;
  const sat = new Float64Array((w + 1) * (h + 1));
  for (let y = 1; y <= h; y++) {
    let row = 0;
    for (let x = 1; x <= w; x++) {
      row += data[(y - 1) * w + x - 1]!;
      sat[y * (w + 1) + x] = sat[(y - 1) * (w + 1) + x]! + row;
    }
  }
  return sat;
}

/**
 * Integral of the piecewise-constant image over a real-valued rectangle:
 * bilinear interpolation of the summed-area table is exact for that, and
 * regions outside the image count as background (0).
 */
function areaSum(sat: Float64Array, w: number, h: number, x0: number, y0: number, x1: number, y1: number): number {
  const at = (x: number, y: number) => {
    const cx = Math.min(Math.max(x, 0), w);
    const cy = Math.min(Math.max(y, 0), h);
    const ix = Math.min(Math.floor(cx), w - 1);
    const iy = Math.min(Math.floor(cy), h - 1);
    const fx = cx - ix;
    const fy = cy - iy;
    // ix + 1 <= w and iy + 1 <= h: inside the (w+1)×(h+1) table.
    const s = (xx: number, yy: number) => sat[yy * (w + 1) + xx]!;
    const top = s(ix, iy) * (1 - fx) + s(ix + 1, iy) * fx;
    const bottom = s(ix, iy + 1) * (1 - fx) + s(ix + 1, iy + 1) * fx;
    return top * (1 - fy) + bottom * fy;
  };
  return at(x1, y1) - at(x0, y1) - at(x1, y0) + at(x0, y0);
}

/**
 * Resamples to outW×outH, separably: each output pixel averages the source area
 * it covers when shrinking, and interpolates linearly when enlarging.
 */
export function resample(img: GrayImage, outW: number, outH: number): Float32Array {
  const cols = resampleWeights(img.width, outW);
  const rows = resampleWeights(img.height, outH);
  const mid = new Float32Array(outW * img.height);
  for (let y = 0; y < img.height; y++) applyWeights(img.data, y * img.width, 1, cols, mid, y * outW, 1);
  const out = new Float32Array(outW * outH);
  for (let x = 0; x < outW; x++) applyWeights(mid, x, outW, rows, out, x, outW);
  return out;
}

interface Weights {
  start: Int32Array;
  count: Int32Array;
  weight: Float32Array;
  /** Offset of each output's weights in `weight`. */
  offset: Int32Array;
}

/** For each of `m` outputs over `n` inputs, the inputs it reads and their weights (summing to 1). */
function resampleWeights(n: number, m: number): Weights {
  const scale = n / m;
  const start = new Int32Array(m);
  const count = new Int32Array(m);
  const offset = new Int32Array(m);
  const weights: number[] = [];
  for (let o = 0; o < m; o++) {
    offset[o] = weights.length;
    if (scale >= 1) {
      const a = o * scale;
      const b = a + scale;
      const first = Math.floor(a);
      const last = Math.min(n - 1, Math.ceil(b) - 1);
      start[o] = first;
      for (let i = first; i <= last; i++) weights.push((Math.min(b, i + 1) - Math.max(a, i)) / scale);
      count[o] = last - first + 1;
    } else {
      const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), n - 1);
      const i = Math.min(Math.floor(x), n - 2 < 0 ? 0 : n - 2);
      const f = n > 1 ? x - i : 0;
      start[o] = i;
      count[o] = n > 1 ? 2 : 1;
      weights.push(1 - f);
      if (n > 1) weights.push(f);
    }
  }
  return { start, count, offset, weight: Float32Array.from(weights) };
}

function applyWeights(src: ArrayLike<number>, srcBase: number, srcStride: number, w: Weights, dst: Float32Array, dstBase: number, dstStride: number): void {
  for (let o = 0; o < w.start.length; o++) {
    let sum = 0;
    const first = w.start[o]!;
    const off = w.offset[o]!;
    for (let k = 0; k < w.count[o]!; k++) sum += src[srcBase + (first + k) * srcStride]! * w.weight[off + k]!;
    dst[dstBase + o * dstStride] = sum;
  }
}
