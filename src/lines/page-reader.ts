/**
 * Reading handwriting with a line model: line images as they are, or whole
 * pages, whose lines are found first (page-layout) and cut out by their
 * polygons. Every line of every image is read in width-sorted batches; each
 * character's position comes from the CTC alignment, mapped back to the
 * source image's columns.
 */
import type { GrayImage } from '../data/framing.js';
import type { LineBox, Point } from './geometry.js';
import { boxPolygon } from './geometry.js';
import { cropLine } from './line-crop.js';
import { normalizeLine, type LineImage } from './line-image.js';
import { ruleErasureOf } from './line-rules.js';
import { findTextLines } from './page-layout.js';
import { decodeLine, type DecoderModels, type DecoderSettings } from './line-decoder.js';
import type { LineModelRunner } from './line-reader.js';
import type { LineModelMeta } from './line-model-artifact.js';

export interface CharPosition {
  char: string;
  /** Source-image columns, x0 inclusive, x1 exclusive. */
  x0: number;
  x1: number;
  confidence: number;
}

export interface LineResult {
  box: LineBox;
  polygon: Point[];
  baseline?: Point[];
  text: string;
  confidence: number;
  chars: CharPosition[];
}

/** A page is taller than a few lines: anything over 3.5 line heights of its width's typical line. */
export function looksLikePage(img: GrayImage): boolean {
  return img.height > 400 && img.height > img.width * 0.25;
}

interface PendingLine {
  image: LineImage;
  box: LineBox;
  polygon: Point[];
  baseline?: Point[];
}

/**
 * The lines of one image: itself as one line, or the lines found on it as a page, normalized as
 * the model's training lines were (`model`: its height and rule erasure). `file` names the image
 * in errors (a line too wide to read, say).
 */
export function linesOf(img: GrayImage, model: Pick<LineModelMeta, 'height' | 'erase_rules' | 'rule_erasure'>, mode: 'line' | 'page', file?: string): PendingLine[] {
  const normalize = { height: model.height, eraseRules: ruleErasureOf(model) };
  if (mode === 'line') {
    const box = { x: 0, y: 0, width: img.width, height: img.height };
    return [{ image: normalizeLine(img, { ...normalize, source: file }), box, polygon: boxPolygon(box) }];
  }
  return findTextLines(img).map((l) => ({
    image: normalizeLine(cropLine(img, l.polygon), {
      ...normalize,
      source: file && `${file}, the line found at x=${l.box.x} y=${l.box.y}`,
      tooWideFix: 'scale the page down, or give its lines as images',
    }),
    box: l.box,
    polygon: l.polygon,
    baseline: l.baseline,
  }));
}

/** Reads the pending lines of several images in one pass; results come back per image. */
export function readLines(runner: LineModelRunner, perImage: PendingLine[][], settings: DecoderSettings, models: DecoderModels = {}): LineResult[][] {
  const flat = perImage.flat();
  const outputs = runner.logProbs(flat.map((l) => l.image));
  const charset = runner.meta.charset.characters;
  const stride = runner.meta.stride;
  let k = 0;
  return perImage.map((lines) =>
    lines.map((line) => {
      const out = outputs[k++]!;
      const reading = decodeLine(out, charset, settings, models);
      const src = line.image.source ?? { x0: 0, scale: 1 };
      const toSource = (frame: number) => Math.round(line.box.x + src.x0 + (frame * stride) / src.scale);
      return {
        box: line.box,
        polygon: line.polygon,
        ...(line.baseline ? { baseline: line.baseline } : {}),
        text: reading.text,
        // P(text | image) shrinks with length; its per-character geometric mean reads as a confidence.
        confidence: reading.chars.length ? Math.pow(reading.confidence, 1 / reading.chars.length) : reading.confidence,
        chars: reading.chars.map((c) => ({ char: c.char, x0: toSource(c.frame), x1: Math.max(toSource(c.frame) + 1, toSource(c.lastFrame + 1)), confidence: c.probability })),
      };
    }),
  );
}
