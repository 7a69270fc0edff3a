/** Image files: finding them, and decoding them to grayscale with clear errors for anything that is not a usable image. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { UserInputError } from '../errors.js';
import type { Image } from '@napi-rs/canvas';
import { rgbaToGray, type GrayImage } from './framing.js';
import { MAX_IMAGE_FILE_BYTES, readInputFile } from './input-safety.js';
import { pushAll } from '../util/arrays.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/** Image files named directly or found (recursively, sorted) in named folders. */
export async function collectImages(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (!info) throw new UserInputError(`${p}: no such file or folder`);
    if (info.isDirectory()) {
      const entries = (await readdir(p, { recursive: true })).map(String).sort();
      pushAll(out, entries.filter((e) => IMAGE_EXTENSIONS.includes(extname(e).toLowerCase())).map((e) => join(p, e)));
    } else out.push(p);
  }
  return out;
}

/** Decodes an image file to grayscale, with a clear error for anything that is not an image. */
export async function readGrayImage(file: string, maxPixels = 64e6): Promise<GrayImage> {
  const { loadImage } = await import('@napi-rs/canvas');
  const bytes = await readInputFile(file, MAX_IMAGE_FILE_BYTES);
  if (!bytes.length) throw new UserInputError(`${file}: empty file, not an image`);
  // Refuse huge images before decoding them: a 20,000² PNG would need 1.6 GB as RGBA.
  const size = imageDimensions(bytes);
  if (size && size.width * size.height > maxPixels) {
    throw new UserInputError(`${file}: ${size.width}x${size.height} is too large (over ${maxPixels / 1e6} megapixels); scale it down first`);
  }
  let image;
  try {
    image = await loadImage(bytes);
  } catch (err) {
    throw new UserInputError(`${file}: not a decodable image (${(err as Error).message})`);
  }
  if (image.width * image.height > maxPixels) {
    throw new UserInputError(`${file}: ${image.width}x${image.height} is too large (over ${maxPixels / 1e6} megapixels); scale it down first`);
  }
  return decodeGray(image);
}

/** Width and height from a PNG or JPEG header, without decoding the pixels. */
export function imageDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 24 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    let i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) return undefined;
      const marker = bytes[i + 1]!; // i + 9 < bytes.length
      const length = view.getUint16(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: view.getUint16(i + 5), width: view.getUint16(i + 7) };
      }
      i += 2 + length;
    }
  }
  return undefined;
}

async function decodeGray(image: Image): Promise<GrayImage> {
  const { createCanvas } = await import('@napi-rs/canvas');
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  return rgbaToGray(ctx.getImageData(0, 0, image.width, image.height).data, image.width, image.height);
}
