/**
 * Pixels to [0, 1] with light ink on dark, optionally framed EMNIST-style.
 * Stored as uint8 with scale 1/255: exact for 8-bit data, a quarter of float32's size.
 */
import { AutoOrBoolean, defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { imageSize, readDataset, sampleSize, writeDataset, type Dataset } from '../src/data/dataset.js';
import { frameGlyph, inkBox } from '../src/data/framing.js';

const normalizeParams = StrictObject({
  invert: AutoOrBoolean({ description: 'dark ink on light paper → light on dark' }),
  frame: Type.Boolean({ default: false, description: 'crop to the ink, centre in a square with a border, resize' }),
  size: Type.Integer({ minimum: 8, maximum: 256, default: 28 }),
  border: Type.Integer({ minimum: 0, maximum: 16, default: 2 }),
});

export default defineStage<Static<typeof normalizeParams>>({
  description: 'scale pixels to [0,1], fix polarity, optionally crop-centre-resize like EMNIST',
  version: 1,
  paramsSchema: normalizeParams,
  inputs: { dataset: { description: 'dataset to normalize', required: true } },
  outputs: ['dataset'],
  async run(ctx) {
    const p = ctx.params;
    const ds = await readDataset(ctx.input('dataset'));
    const frame = p.frame ? imageSize(ds.meta, `normalize: ${ctx.input('dataset')}`) : undefined;
    const size = sampleSize(ds.meta);
    const n = ds.meta.count;
    const { max, inverted } = pixelRange(ds, p.invert);
    const eightBit = ds.images instanceof Uint8Array || Number.isInteger(max) && max <= 255 && max > 1;
    const unit = eightBit ? 255 : Math.max(max, 1e-12);
    ctx.log.info(`pixel range 0..${max}${inverted ? ', dark-on-light: inverting' : ''}${p.frame ? `, framing to ${p.size}x${p.size}` : ''}`);
    const outSize = p.frame ? p.size * p.size : size;
    const images = eightBit || p.frame ? new Uint8Array(n * outSize) : new Float32Array(n * outSize);
    const glyph = new Float32Array(size);
    for (let k = 0; k < n; k++) {
      const src = ds.images.subarray(k * size, (k + 1) * size);
      // src and glyph hold one sample: size values.
      for (let i = 0; i < size; i++) glyph[i] = ((inverted ? unit - src[i]! : src[i]!) / unit) * 255;
      if (frame) {
        const img = { ...frame, data: glyph };
        images.set(frameGlyph(img, p.size, p.border, inkBox(img, 0.1)), k * outSize);
      } else if (images instanceof Uint8Array) {
        for (let i = 0; i < size; i++) images[k * outSize + i] = Math.round(glyph[i]!);
      } else {
        for (let i = 0; i < size; i++) images[k * outSize + i] = glyph[i]! / 255;
      }
      if (k % 20000 === 0) ctx.progress.update(`${k}/${n} images`);
    }
    const out: Dataset = {
      ...ds,
      images,
      meta: {
        ...ds.meta,
        sampleShape: p.frame ? [p.size, p.size] : ds.meta.sampleShape,
        scale: images instanceof Uint8Array ? 1 / 255 : 1,
        polarity: 'light-on-dark',
        framed: p.frame,
      },
    };
    await writeDataset(ctx.output('dataset'), out);
  },
});

/** Largest pixel value and whether the data is dark ink on light paper (judged from image borders). */
function pixelRange(ds: Dataset, invert: 'auto' | boolean): { max: number; inverted: boolean } {
  let max = 0;
  for (let i = 0; i < ds.images.length; i++) if (ds.images[i]! > max) max = ds.images[i]!;
  if (invert !== 'auto') return { max, inverted: invert };
  const [h, w] = ds.meta.sampleShape;
  // Samples that are not images have no border to judge by.
  if (h === undefined || w === undefined) return { max, inverted: false };
  const size = h * w;
  let sum = 0;
  let count = 0;
  const step = Math.max(1, Math.floor(ds.meta.count / 1000));
  for (let k = 0; k < ds.meta.count; k += step) {
    for (let x = 0; x < w; x++) {
      sum += ds.images[k * size + x]! + ds.images[k * size + (h - 1) * w + x]!; // first and last row of sample k
      count += 2;
    }
  }
  return { max, inverted: count > 0 && sum / count > max / 2 };
}
