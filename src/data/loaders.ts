/**
 * Readers for the formats handwriting data really comes in. Each returns raw
 * arrays and names the file in every error; the load stage turns them into a
 * dataset artifact.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserInputError } from '../errors.js';
import { parseNpy, type NpyArray } from './npy.js';
import { parseNpz } from './npz.js';
import { frameGlyph, inkImage } from './framing.js';
import { readGrayImage, IMAGE_EXTENSIONS } from './images.js';
import { checkPixelRange, checkZipMembers, readInputFile } from './input-safety.js';

export interface RawData {
  images: Uint8Array | Float32Array;
  height: number;
  width: number;
  /** Numeric class ids or class names (e.g. "A"). */
  labels: Int32Array | string[];
  writers?: Int32Array;
  masks: Record<string, Uint8Array>;
  /** Stored column-major, as EMNIST does. */
  columnMajor?: boolean;
}

function fail(where: string, message: string): never {
  throw new UserInputError(`${where}: ${message}`);
}

function readBytes(path: string): Promise<Uint8Array> {
  return readInputFile(path);
}

export interface ArrayKeys {
  images: string;
  labels: string;
  writers?: string;
}

/** Images as uint8 or float32 and their [n, h, w] shape; N×784 rows are treated as 28×28. */
function imagesFrom(arr: NpyArray, where: string): Pick<RawData, 'images' | 'height' | 'width'> {
  if (Array.isArray(arr.data)) fail(where, `images must be numeric, got dtype ${arr.dtype}`);
  const { height: h, width: w } = imageShape(arr.shape, where);
  const data = arr.data;
  if (!(data instanceof Uint8Array)) checkPixelRange(data, h * w, where);
  if (data instanceof Uint8Array || data instanceof Float32Array) return { images: data, height: h, width: w };
  return { images: Float32Array.from(data), height: h, width: w };
}

/** Height and width of the images of an N×H×W, N×H×W×1 or N×(side²) array. */
function imageShape(shape: readonly number[], where: string): { height: number; width: number } {
  const [, a, b, channels] = shape;
  if (shape.length === 2 && a !== undefined) {
    const side = Math.round(Math.sqrt(a));
    if (side * side !== a) fail(where, `images have shape (${shape}); expected N×H×W, N×H×W×1 or N×(side²)`);
    return { height: side, width: side };
  }
  if (shape.length === 4 && channels !== 1) fail(where, `images have ${channels} channels; only grayscale (1 channel) is supported`);
  if ((shape.length === 3 || shape.length === 4) && a !== undefined && b !== undefined) return { height: a, width: b };
  return fail(where, `images have shape (${shape}); expected N×H×W`);
}

function labelsFrom(arr: NpyArray, count: number, where: string): Int32Array | string[] {
  if (arr.data.length !== count) fail(where, `${count} images but ${arr.data.length} labels`);
  if (Array.isArray(arr.data)) return arr.data;
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = arr.data[i]!; // the length check above: i < count = arr.data.length
    if (!Number.isInteger(v)) fail(where, `label ${v} at index ${i} is not an integer`);
    out[i] = v;
  }
  return out;
}

export async function loadNpz(path: string, keys: ArrayKeys): Promise<RawData> {
  const bytes = await readBytes(path);
  const arrays = parseNpz(bytes, path, undefined, (members) => checkZipMembers(bytes, members, path));
  const need = (key: string) => arrays[key] ?? fail(path, `has no array "${key}"; arrays: ${Object.keys(arrays).join(', ')}`);
  const images = imagesFrom(need(keys.images), `${path}[${keys.images}]`);
  const count = need(keys.images).shape[0] ?? 0;
  const raw: RawData = { ...images, labels: labelsFrom(need(keys.labels), count, `${path}[${keys.labels}]`), masks: {} };
  const writers = keys.writers ? arrays[keys.writers] : undefined;
  if (writers) {
    if (Array.isArray(writers.data)) fail(`${path}[${keys.writers}]`, `writer ids must be numeric, got dtype ${writers.dtype}`);
    if (writers.data.length !== count) fail(`${path}[${keys.writers}]`, `${writers.data.length} writer ids for ${count} images; every image needs one (or remove the array, or set writers_key to another name)`);
    raw.writers = Int32Array.from(writers.data as ArrayLike<number>);
  }
  for (const [name, arr] of Object.entries(arrays)) {
    if (arr.dtype === 'bool' && arr.data.length === count) raw.masks[name] = arr.data as Uint8Array;
  }
  return raw;
}

export async function loadNpy(imagesPath: string, labelsPath: string): Promise<RawData> {
  const [imageBytes, labelBytes] = [await readBytes(imagesPath), await readBytes(labelsPath)];
  const images = parseNpy(imageBytes, imagesPath);
  const labels = parseNpy(labelBytes, labelsPath);
  return { ...imagesFrom(images, imagesPath), labels: labelsFrom(labels, images.shape[0] ?? 0, labelsPath), masks: {} };
}

function maybeGunzip(bytes: Uint8Array, path: string): Uint8Array {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return new Uint8Array(gunzipSync(bytes));
  } catch (err) {
    fail(path, `corrupt gzip data: ${(err as Error).message}`);
  }
}

/** IDX (MNIST/EMNIST) files, gzipped or not. EMNIST stores images column-major. */
export async function loadIdx(imagesPath: string, labelsPath: string): Promise<RawData> {
  const img = maybeGunzip(await readBytes(imagesPath), imagesPath);
  const lab = maybeGunzip(await readBytes(labelsPath), labelsPath);
  const iv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const lv = new DataView(lab.buffer, lab.byteOffset, lab.byteLength);
  if (img.length < 16 || iv.getUint32(0) !== 0x00000803) fail(imagesPath, 'not an IDX image file (expected magic 0x00000803: unsigned bytes, 3 dimensions)');
  if (lab.length < 8 || lv.getUint32(0) !== 0x00000801) fail(labelsPath, 'not an IDX label file (expected magic 0x00000801)');
  const [n, h, w] = [iv.getUint32(4), iv.getUint32(8), iv.getUint32(12)];
  const labelCount = lv.getUint32(4);
  if (img.length < 16 + n * h * w) fail(imagesPath, `truncated: header promises ${n}×${h}×${w} pixels, file has ${img.length - 16} bytes`);
  if (lab.length < 8 + labelCount) fail(labelsPath, `truncated: header promises ${labelCount} labels, file has ${lab.length - 8}`);
  if (labelCount !== n) fail(labelsPath, `${labelCount} labels for ${n} images in ${basename(imagesPath)}`);
  return {
    images: img.slice(16, 16 + n * h * w),
    height: h,
    width: w,
    labels: Int32Array.from(lab.subarray(8, 8 + n)),
    masks: {},
    columnMajor: true,
  };
}

/** Kaggle-style CSV: label, then the pixels of one image per row; an optional header row is skipped. */
export async function loadCsv(path: string): Promise<RawData> {
  const text = new TextDecoder().decode(maybeGunzip(await readBytes(path), path));
  // Errors name the line in the file, counting the header and any blank lines.
  const rows = text.split(/\r?\n/).map((line, i) => ({ cells: line.split(','), where: `${path}:${i + 1}` })).filter((r) => r.cells.join('').trim() !== '');
  if (/[A-Za-z]/.test(rows[0]?.cells[1] ?? '')) rows.shift();
  const first = rows[0] ?? fail(path, 'no data rows');
  const width = first.cells.length - 1;
  const side = Math.round(Math.sqrt(width));
  if (side * side !== width) fail(first.where, `${width} pixel columns is not a square image`);
  const images = new Uint8Array(rows.length * width);
  const labels = new Int32Array(rows.length);
  for (const [r, { cells, where }] of rows.entries()) {
    if (cells.length !== width + 1) fail(where, `${cells.length} columns, expected ${width + 1} (label + ${width} pixels)`);
    const label = cells[0]!;
    if (!/^\s*-?\d+\s*$/.test(label)) fail(where, `label "${label}" is not an integer`);
    labels[r] = Number(label);
    for (let c = 0; c < width; c++) {
      // Decimal integers only: a blank cell is not 0, and "12.7" or "0x10" is not a pixel.
      const cell = cells[c + 1]!; // cells has width + 1 entries
      const v = /^\s*\d{1,3}\s*$/.test(cell) ? Number(cell) : NaN;
      if (!(v >= 0 && v <= 255)) fail(where, `pixel ${c + 1} is ${cell.trim() ? `"${cell}"` : 'blank'}, expected 0..255 (a whole number)`);
      images[r * width + c] = v;
    }
  }
  return { images, height: side, width: side, labels, masks: {} };
}

/** `upper_A` → "A", `lower_a` → "a", `digit_0` → "0"; other folder names are the class as-is. */
export function classFromFolder(name: string): string {
  return /^(?:upper|lower|digit)_(.)$/.exec(name)?.[1] ?? name;
}

/**
 * One subfolder per class of PNG/JPEG crops of any size, dark ink on paper or
 * light on dark: each is framed EMNIST-style to `size`×`size`.
 */
const DECODE_CHUNK = 16;

export async function loadImageFolder(dir: string, options: { size: number; include?: RegExp; invert: boolean | 'auto'; onProgress?: (done: number, total: number) => void }): Promise<RawData> {
  let entries;
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    fail(dir, 'image folder not found');
  }
  const classes = entries.map((e) => e.name).filter((name) => !options.include || options.include.test(classFromFolder(name)));
  if (!classes.length) fail(dir, `no class subfolders${options.include ? ` matching ${options.include}` : ''}`);
  const files: { file: string; label: string }[] = [];
  for (const folder of classes) {
    const images = (await readdir(join(dir, folder))).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort();
    if (!images.length) fail(join(dir, folder), 'class folder has no PNG or JPEG images');
    for (const f of images) files.push({ file: join(dir, folder, f), label: classFromFolder(folder) });
  }
  const size = options.size;
  const out = new Uint8Array(files.length * size * size);
  // Files are read a chunk at a time: each await needs a turn of the event loop, and a
  // training stage running beside this one in the process gives only one turn per batch.
  for (let start = 0; start < files.length; start += DECODE_CHUNK) {
    const chunk = files.slice(start, start + DECODE_CHUNK);
    // Regular files of bounded size, dimensions checked from the header before any pixel is decoded.
    const decoded = await Promise.allSettled(chunk.map(({ file }) => readGrayImage(file)));
    decoded.forEach((result, j) => {
      const file = chunk[j]!.file;
      if (result.status === 'rejected') fail(file, (result.reason as Error).message.replace(`${file}: `, ''));
      out.set(frameGlyph(inkImage(result.value, options.invert), size), (start + j) * size * size);
    });
    if (Math.floor(start / 200) !== Math.floor((start + chunk.length) / 200)) options.onProgress?.(start + chunk.length, files.length);
  }
  return { images: out, height: size, width: size, labels: files.map((f) => f.label), masks: {} };
}
