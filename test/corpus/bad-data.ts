/**
 * Generates the bad-data corpus: hostile or damaged data files, each with the
 * load params that read it and the error it must produce. Nothing here is a
 * committed binary; `npx tsx test/corpus/bad-data.ts <dir>` writes the files out.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { encodeNpy } from '../../src/data/npy.js';
import { encodeNpz } from '../helpers.js';

export interface BadDataCase {
  name: string;
  /** Files to create, relative to the workspace; a string value starting with "->" makes a symlink. */
  files: Record<string, Uint8Array | string>;
  /** Special files made with mkfifo. */
  fifos?: string[];
  params: string;
  /** The file the error must name. */
  names: string;
  error: RegExp;
}

const images = (n: number) => encodeNpy(Uint8Array.from({ length: n * 16 }, (_, i) => (i * 37) % 256), [n, 4, 4]);
const labels = (n: number) => encodeNpy(Int32Array.from({ length: n }, (_, i) => i % 2), [n]);

/** A stored (uncompressed) npz with one byte of the images member's data flipped: the zip CRC no longer matches. */
function crcMismatchNpz(): Uint8Array {
  const zip = encodeNpz({ images: images(4), labels: labels(4) });
  const bytes = zip.slice();
  const member = findSubarray(bytes, images(4));
  bytes[member + images(4).length - 3] ^= 0xff;
  return bytes;
}

/** A deflated npz with bytes in the middle of the compressed images stream changed. */
function corruptDeflateNpz(): Uint8Array {
  const pixels = encodeNpy(Uint8Array.from({ length: 64 * 16 }, (_, i) => (i * 7919) % 251), [64, 4, 4]);
  const zip = encodeNpz({ images: pixels, labels: labels(64) }, true);
  const bytes = zip.slice();
  const compressed = deflateSync(pixels, { level: 6 });
  const at = findSubarray(bytes, compressed.subarray(0, 16));
  const start = at >= 0 ? at : 80;
  for (let i = start + 40; i < start + 60; i++) bytes[i] ^= 0x5a;
  return bytes;
}

function findSubarray(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** 69 bytes: a PNG signature and an IHDR claiming 20000x20000 pixels, then IEND. */
export function hugePngHeader(): Uint8Array {
  const bytes = new Uint8Array(69);
  const view = new DataView(bytes.buffer);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  view.setUint32(8, 13);
  bytes.set([0x49, 0x48, 0x44, 0x52], 12);
  view.setUint32(16, 20000);
  view.setUint32(20, 20000);
  bytes.set([8, 0, 0, 0, 0], 24);
  view.setUint32(33, 0);
  bytes.set([0x49, 0x45, 0x4e, 0x44], 37);
  return bytes;
}

const csvRow = (label: string, pixels: string[]) => [label, ...pixels].join(',');
const zeros = (n: number) => Array<string>(n).fill('0');

export function badDataCases(): BadDataCase[] {
  return [
    {
      name: 'npz whose member CRC does not match (stored)',
      files: { 'bad.npz': crcMismatchNpz() },
      params: '{ path: bad.npz, classes: xy }',
      names: 'bad.npz',
      error: /bad\.npz\[images\.npy\]: CRC-32 mismatch/,
    },
    {
      name: 'npz with a corrupt deflate stream',
      files: { 'bad.npz': corruptDeflateNpz() },
      params: '{ path: bad.npz, classes: xy }',
      names: 'bad.npz',
      error: /bad\.npz(\[images\.npy\])?: (CRC-32 mismatch|decompressed to|not a readable \.npz)/,
    },
    {
      name: 'a 69-byte PNG that claims 20000x20000 pixels',
      files: { 'scans/a/huge.png': hugePngHeader() },
      params: '{ path: scans }',
      names: 'scans/a/huge.png',
      error: /scans\/a\/huge\.png: 20000x20000 is too large/,
    },
    {
      name: 'a device as the data path',
      files: {},
      params: '{ path: /dev/zero, format: npz }',
      names: '/dev/zero',
      error: /\/dev\/zero is not a regular file/,
    },
    {
      name: 'a symlink to a device inside an image folder',
      files: { 'scans/a/zero.png': '->/dev/zero' },
      params: '{ path: scans }',
      names: 'zero.png',
      error: /scans\/a\/zero\.png is not a regular file/,
    },
    {
      name: 'a named pipe as the data path',
      files: {},
      fifos: ['pipe.npz'],
      params: '{ path: pipe.npz }',
      names: 'pipe.npz',
      error: /pipe\.npz is not a regular file/,
    },
    {
      name: 'a writers array shorter than images',
      files: { 'bad.npz': encodeNpz({ images: images(4), labels: labels(4), writers: encodeNpy(new Int32Array([1, 2]), [2]) }) },
      params: '{ path: bad.npz, classes: xy }',
      names: 'bad.npz[writers]',
      error: /bad\.npz\[writers\]: 2 writer ids for 4 images/,
    },
    {
      name: 'a blank CSV cell',
      files: { 'bad.csv': `${csvRow('1', zeros(16))}\n${csvRow('0', [...zeros(5), '', ...zeros(10)])}\n` },
      params: '{ path: bad.csv }',
      names: 'bad.csv:2',
      error: /bad\.csv:2: pixel 6 is blank, expected 0\.\.255/,
    },
    {
      name: 'a fractional CSV pixel',
      files: { 'bad.csv': `${csvRow('1', [...zeros(15), '12.7'])}\n` },
      params: '{ path: bad.csv }',
      names: 'bad.csv:1',
      error: /bad\.csv:1: pixel 16 is "12\.7", expected 0\.\.255/,
    },
    {
      name: 'a hexadecimal CSV pixel',
      files: { 'bad.csv': `${csvRow('1', zeros(16))}\n${csvRow('1', ['0x10', ...zeros(15)])}\n` },
      params: '{ path: bad.csv }',
      names: 'bad.csv:2',
      error: /bad\.csv:2: pixel 1 is "0x10", expected 0\.\.255/,
    },
    {
      name: 'float pixels far outside any image range',
      files: { 'bad.npz': encodeNpz({ images: encodeNpy(Float32Array.from({ length: 32 }, (_, i) => -50000 + i * 8000), [2, 4, 4]), labels: labels(2) }) },
      params: '{ path: bad.npz, classes: xy }',
      names: 'bad.npz',
      error: /bad\.npz\[images\]: pixel values range from -50000 to 198000/,
    },
    {
      name: 'a data file that is a folder of nothing',
      files: { 'empty/.keep': '' },
      params: '{ path: empty }',
      names: 'empty',
      error: /empty: no class subfolders/,
    },
  ];
}

/** Writes a case's files into `dir`. */
export async function writeCase(dir: string, c: BadDataCase): Promise<void> {
  for (const [name, content] of Object.entries(c.files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    if (typeof content === 'string' && content.startsWith('->')) await symlink(content.slice(2), path);
    else await writeFile(path, content);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2] ?? 'bad-data';
  for (const c of badDataCases()) await writeCase(join(out, c.name.replace(/[^a-z0-9]+/gi, '-')), c);
  process.stdout.write(`wrote ${badDataCases().length} cases to ${out}\n`);
}
