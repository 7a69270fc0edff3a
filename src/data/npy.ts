/**
 * NumPy .npy reading and writing (format versions 1.0, 2.0 and 3.0): numeric
 * dtypes in either byte order, booleans, fixed-width unicode strings (<U…),
 * C and Fortran order. Results are always C-ordered, native-endian.
 */
import { UserInputError } from '../errors.js';

export type NumericArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

export interface NpyArray {
  dtype: string;
  shape: number[];
  /** Numeric data, or strings for <U/|S arrays. */
  data: NumericArray | string[];
}

/** A .npy/.npz file that is not what it claims: the user's data to fix. */
export class NpyFormatError extends UserInputError {
  override name = 'NpyFormatError';
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface Header {
  descr: string;
  fortran: boolean;
  shape: number[];
  dataOffset: number;
}

function parseHeader(buf: Uint8Array, where: string): Header {
  if (buf.length < 10 || !MAGIC.every((b, i) => buf[i] === b)) throw new NpyFormatError(`${where}: not a .npy file (bad magic bytes)`);
  const major = buf[6];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) [headerLen, start] = [view.getUint16(8, true), 10];
  else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new NpyFormatError(`${where}: truncated header`);
    [headerLen, start] = [view.getUint32(8, true), 12];
  } else throw new NpyFormatError(`${where}: unsupported .npy format version ${major}`);
  if (start + headerLen > buf.length) throw new NpyFormatError(`${where}: truncated header`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new NpyFormatError(`${where}: malformed header: ${text.trim()}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new NpyFormatError(`${where}: bad shape (${shapeText})`);
  return { descr, fortran: fortran === 'True', shape, dataOffset: start + headerLen };
}

const NUMERIC: Record<string, { size: number; make: (b: ArrayBuffer, n: number) => NumericArray; get?: (v: DataView, o: number, le: boolean) => number }> = {
  b1: { size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  u1: { size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  i1: { size: 1, make: (b, n) => new Int8Array(b, 0, n) },
  u2: { size: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  i2: { size: 2, make: (b, n) => new Int16Array(b, 0, n) },
  u4: { size: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  i4: { size: 4, make: (b, n) => new Int32Array(b, 0, n) },
  f4: { size: 4, make: (b, n) => new Float32Array(b, 0, n) },
  f8: { size: 8, make: (b, n) => new Float64Array(b, 0, n) },
};

const nativeLittle = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function parseNpy(buf: Uint8Array, where = 'array'): NpyArray {
  const header = parseHeader(buf, where);
  const { descr, shape } = header;
  const count = shape.reduce((a, b) => a * b, 1);
  const order = descr[0];
  const kind = descr.slice(1);
  const body = buf.subarray(header.dataOffset);
  let data: NumericArray | string[];
  if (kind === 'i8' || kind === 'u8') {
    if (body.length < count * 8) throw truncated(where, count * 8, body.length);
    const view = new DataView(body.buffer, body.byteOffset, count * 8);
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const v = kind === 'i8' ? view.getBigInt64(i * 8, order === '<') : view.getBigUint64(i * 8, order === '<');
      out[i] = Number(v);
    }
    data = out;
  } else if (kind[0] === 'U' || kind[0] === 'S') {
    const width = Number(kind.slice(1));
    const charSize = kind[0] === 'U' ? 4 : 1;
    if (body.length < count * width * charSize) throw truncated(where, count * width * charSize, body.length);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const strings: string[] = new Array(count);
    for (let i = 0; i < count; i++) {
      let s = '';
      for (let j = 0; j < width; j++) {
        const offset = (i * width + j) * charSize;
        const code = charSize === 4 ? view.getUint32(offset, order !== '>') : view.getUint8(offset);
        if (code === 0) break;
        s += String.fromCodePoint(code);
      }
      strings[i] = s;
    }
    data = strings;
  } else {
    const spec = NUMERIC[kind];
    if (!spec) throw new NpyFormatError(`${where}: unsupported dtype '${descr}'`);
    const bytes = count * spec.size;
    if (body.length < bytes) throw truncated(where, bytes, body.length);
    const copy = new Uint8Array(bytes);
    copy.set(body.subarray(0, bytes));
    const swap = spec.size > 1 && ((order === '>' && nativeLittle) || (order === '<' && !nativeLittle));
    if (swap) swapBytes(copy, spec.size);
    data = spec.make(copy.buffer, count);
  }
  if (header.fortran && shape.length > 1) data = fortranToC(data, shape);
  return { dtype: kind === 'b1' ? 'bool' : kind, shape, data };
}

function truncated(where: string, want: number, got: number): NpyFormatError {
  return new NpyFormatError(`${where}: truncated data: header promises ${want} bytes, file has ${got}`);
}

function swapBytes(bytes: Uint8Array, size: number) {
  for (let i = 0; i < bytes.length; i += size) {
    // a and b stay within i..i+size-1, inside bytes (whose length is a multiple of size).
    for (let a = i, b = i + size - 1; a < b; a++, b--) [bytes[a], bytes[b]] = [bytes[b]!, bytes[a]!];
  }
}

function fortranToC(data: NumericArray | string[], shape: number[]): NumericArray | string[] {
  const positions = fortranPositions(shape, data.length);
  if (Array.isArray(data)) return Array.from(positions, (f) => data[f]!);
  const out = new (data.constructor as new (n: number) => NumericArray)(data.length);
  // positions holds indices of data, one for each of out's data.length elements.
  for (let c = 0; c < positions.length; c++) out[c] = data[positions[c]!]!;
  return out;
}

/** For each element in C order, its position in Fortran-ordered data of `shape`. */
function fortranPositions(shape: number[], n: number): Float64Array {
  const rank = shape.length;
  const strides = new Float64Array(rank);
  for (let d = 0, stride = 1; d < rank; d++) {
    strides[d] = stride;
    stride *= shape[d]!;
  }
  const index = new Float64Array(rank);
  const out = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    let f = 0;
    for (let d = 0; d < rank; d++) f += index[d]! * strides[d]!;
    out[c] = f;
    // Advance the C-order index: the last axis fastest, carrying into earlier ones.
    for (let d = rank - 1; d >= 0; d--) {
      const next = index[d]! + 1;
      if (next < shape[d]!) {
        index[d] = next;
        break;
      }
      index[d] = 0;
    }
  }
  return out;
}

const DESCR: [new (length: number) => NumericArray, string][] = [
  [Uint8Array, '|u1'], [Int8Array, '|i1'], [Uint16Array, '<u2'], [Int16Array, '<i2'],
  [Uint32Array, '<u4'], [Int32Array, '<i4'], [Float32Array, '<f4'], [Float64Array, '<f8'],
];

/** Serialises a C-ordered little-endian array as .npy version 1.0. */
export function encodeNpy(data: NumericArray, shape: number[], options: { bool?: boolean } = {}): Uint8Array {
  const descr = options.bool ? '|b1' : DESCR.find(([ctor]) => data instanceof ctor)?.[1];
  if (!descr) throw new Error('encodeNpy: unsupported array type');
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
