/**
 * The checks every data file passes before `load` trusts it: only regular files,
 * bounded sizes, zip members whose CRC matches, pixel values in a plausible range.
 * Each failure names the file and says what to do.
 */
import { open, stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { UserInputError } from '../errors.js';

/** Node cannot hold more than this in one buffer; a larger data file must be split. */
export const MAX_DATA_FILE_BYTES = 2 ** 31 - 1;
/** One image crop; anything bigger is not a handwriting sample. */
export const MAX_IMAGE_FILE_BYTES = 64 * 2 ** 20;
/** Pixel values load accepts: unit floats, 8-bit and 16-bit intensities. */
export const MAX_PIXEL_VALUE = 65535;

function fail(where: string, message: string): never {
  throw new UserInputError(`${where}: ${message}`);
}

/** Reads a regular file of at most `maxBytes`; devices, pipes and sockets are refused before any read. */
export async function readInputFile(path: string, maxBytes = MAX_DATA_FILE_BYTES): Promise<Uint8Array> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    fail(path, code === 'ENOENT' ? 'file not found (check the path, or the data_dir param)' : (err as Error).message);
  }
  if (info.isDirectory()) fail(path, 'is a folder, not a file');
  if (!info.isFile()) fail(path, 'is not a regular file (a device, pipe or socket); point the path at a data file');
  if (info.size > maxBytes) fail(path, `is ${info.size} bytes, over the limit of ${maxBytes}; split it or check that it is the right file`);
  const handle = await open(path, 'r');
  try {
    const bytes = new Uint8Array(info.size);
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesRead } = await handle.read(bytes, offset, bytes.length - offset, offset);
      if (!bytesRead) break;
      offset += bytesRead;
    }
    if (offset !== info.size) fail(path, `changed while it was read (${offset} of ${info.size} bytes)`);
    return bytes;
  } finally {
    await handle.close();
  }
}

interface ZipEntry {
  crc: number;
  size: number;
}

/** CRC-32 and size of each member, from the zip's central directory (zip64 included). */
export function zipDirectory(bytes: Uint8Array, where: string): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail(where, 'not a zip archive (no end-of-central-directory record); is the file complete? Download it again or re-save it with numpy.savez');
  let count = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  if ((offset === 0xffffffff || count === 0xffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === 0x07064b50) {
    const zip64 = Number(view.getBigUint64(eocd - 20 + 8, true));
    if (zip64 + 56 > bytes.length || view.getUint32(zip64, true) !== 0x06064b50) fail(where, 'damaged zip64 directory');
    count = Number(view.getBigUint64(zip64 + 32, true));
    offset = Number(view.getBigUint64(zip64 + 48, true));
  }
  const entries = new Map<string, ZipEntry>();
  for (let n = 0; n < count; n++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== 0x02014b50) fail(where, 'damaged zip central directory; download the file again or re-save it with numpy.savez');
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    const name = new TextDecoder().decode(bytes.subarray(offset + 46, offset + 46 + nameLength));
    let size = view.getUint32(offset + 24, true);
    if (size === 0xffffffff) {
      // The zip64 extra field holds the real uncompressed size first.
      let e = offset + 46 + nameLength;
      const end = e + extraLength;
      while (e + 4 <= end) {
        const id = view.getUint16(e, true);
        const length = view.getUint16(e + 2, true);
        if (id === 0x0001 && length >= 8) size = Number(view.getBigUint64(e + 4, true));
        e += 4 + length;
      }
    }
    entries.set(name, { crc: view.getUint32(offset + 16, true), size });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Every extracted member must have the size and CRC-32 the archive recorded, as NumPy checks. */
export function checkZipMembers(bytes: Uint8Array, members: Record<string, Uint8Array>, where: string): void {
  const directory = zipDirectory(bytes, where);
  for (const [name, data] of Object.entries(members)) {
    const entry = directory.get(name);
    if (!entry) fail(where, `member ${name} is not in the zip directory; the archive is damaged`);
    if (data.length !== entry.size) fail(`${where}[${name}]`, `decompressed to ${data.length} bytes, the archive records ${entry.size}; the file is damaged: download it again or re-save it with numpy.savez`);
    if ((crc32(data) >>> 0) !== entry.crc) fail(`${where}[${name}]`, 'CRC-32 mismatch: the data is damaged; download the file again or re-save it with numpy.savez');
  }
}

/** Pixels must be finite and within 0..65535; anything else is a wrong file or a wrong array, not an image. */
export function checkPixelRange(images: ArrayLike<number>, sampleSize: number, where: string): void {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < images.length; i++) {
    const v = images[i]!;
    if (!Number.isFinite(v)) fail(where, `pixel ${i % sampleSize} of image ${Math.floor(i / sampleSize)} is ${v}; data must be finite`);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min < 0 || max > MAX_PIXEL_VALUE) {
    const bad = Array.prototype.findIndex.call(images, (v: number) => v < 0 || v > MAX_PIXEL_VALUE);
    fail(where, `pixel values range from ${min} to ${max} (first out of range: pixel ${bad % sampleSize} of image ${Math.floor(bad / sampleSize)} = ${images[bad]}); expected intensities in 0..1, 0..255 or 0..65535. Is this the right array (images_key), or does it need rescaling?`);
  }
}
