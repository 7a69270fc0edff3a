/**
 * Writes a page's reading as ALTO v4 (4.2) or PAGE XML (2019) that eScriptorium and Kraken import:
 * one text block of lines, each with its box, polygon, baseline, words (ALTO String/SP) and, when the
 * recognizer gave per-character positions, glyphs.
 */
import { basename } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { boundingBox, type LineBox, type Point } from './geometry.js';

export interface GlyphReading {
  char: string;
  /** Page columns the character spans (x0 inclusive, x1 exclusive). */
  x0: number;
  x1: number;
  confidence: number;
}

export interface LineReading {
  box: LineBox;
  polygon: Point[];
  baseline?: Point[];
  text: string;
  /** 0..1 */
  confidence: number;
  /** One per character of `text` (spaces included), in order, when the recognizer aligned them. */
  glyphs?: GlyphReading[];
}

export interface PageReading {
  imagePath: string;
  width: number;
  height: number;
  lines: LineReading[];
}

export type LineXmlFormat = 'alto' | 'page';

export interface XmlWriteOptions {
  /** PAGE's Created/LastChange; fixed by callers that need byte-identical output. Defaults to now. */
  date?: Date;
  creator?: string;
}

const ALTO_NS = 'http://www.loc.gov/standards/alto/ns-v4#';
const PAGE_NS = 'http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/** Writes the reading as XML atomically, so a failed run leaves no half-written file. */
export async function writeLineXml(path: string, reading: PageReading, format: LineXmlFormat, options: XmlWriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, format === 'alto' ? altoXml(reading) : pageXml(reading, options));
}

interface Word {
  text: string;
  box: LineBox;
  confidence: number;
  glyphs?: GlyphReading[];
  /** The gap after the word, up to the next word's start. */
  spaceAfter?: LineBox;
}

/** Splits a line into words with boxes: from the glyphs' columns when given, else shared out by character count. */
export function lineWords(line: LineReading): Word[] {
  const chars = Array.from(line.text);
  if (line.glyphs && line.glyphs.length !== chars.length) {
    throw new Error(`line "${line.text}": ${line.glyphs.length} glyphs for ${chars.length} characters; glyphs must map one to one onto the text`);
  }
  const { x, y, width, height } = line.box;
  const columns = chars.map((_, i): [number, number] => {
    const g = line.glyphs?.[i];
    if (g) return [g.x0, Math.max(g.x1, g.x0 + 1)];
    return [x + (width * i) / chars.length, x + (width * (i + 1)) / chars.length];
  });
  const words: Word[] = [];
  // i and j - 1 index chars, and columns has one entry per character.
  const isSpace = (k: number) => /\s/.test(chars[k]!);
  let i = 0;
  while (i < chars.length) {
    if (isSpace(i)) {
      i++;
      continue;
    }
    let j = i;
    while (j < chars.length && !isSpace(j)) j++;
    const x0 = Math.round(columns[i]![0]);
    const x1 = Math.round(columns[j - 1]![1]);
    const glyphs = line.glyphs?.slice(i, j);
    const confidence = glyphs?.length ? glyphs.reduce((s, g) => s + g.confidence, 0) / glyphs.length : line.confidence;
    words.push({ text: chars.slice(i, j).join(''), box: { x: x0, y, width: Math.max(1, x1 - x0), height }, confidence, glyphs });
    i = j;
  }
  words.forEach((word, k) => {
    const next = words[k + 1];
    if (!next) return;
    const from = word.box.x + word.box.width;
    word.spaceAfter = { x: from, y, width: Math.max(0, next.box.x - from), height };
  });
  return words;
}

export function altoXml(reading: PageReading): string {
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(`<alto xmlns="${ALTO_NS}" xmlns:xsi="${XSI}" xsi:schemaLocation="${ALTO_NS} http://www.loc.gov/standards/alto/v4/alto-4-2.xsd">`);
  out.push('  <Description>', '    <MeasurementUnit>pixel</MeasurementUnit>', '    <sourceImageInformation>');
  out.push(`      <fileName>${escapeXml(basename(reading.imagePath))}</fileName>`, '    </sourceImageInformation>', '  </Description>');
  out.push('  <Layout>');
  out.push(`    <Page ID="page_1" PHYSICAL_IMG_NR="1" WIDTH="${int(reading.width)}" HEIGHT="${int(reading.height)}">`);
  out.push(`      <PrintSpace HPOS="0" VPOS="0" WIDTH="${int(reading.width)}" HEIGHT="${int(reading.height)}">`);
  if (reading.lines.length) {
    out.push(`        <TextBlock ID="block_1" ${altoBox(blockBox(reading))}>`);
    reading.lines.forEach((line, l) => {
      const id = `line_${l + 1}`;
      const baseline = line.baseline?.length ? ` BASELINE="${altoPoints(line.baseline)}"` : '';
      out.push(`          <TextLine ID="${id}" ${altoBox(line.box)}${baseline}>`);
      out.push(`            <Shape><Polygon POINTS="${altoPoints(line.polygon)}"/></Shape>`);
      const words = lineWords(line);
      if (!words.length) out.push(`            <String ID="${id}_w1" ${altoBox(line.box)} CONTENT="" WC="${confidence(line.confidence)}"/>`);
      words.forEach((word, w) => {
        const attrs = `ID="${id}_w${w + 1}" ${altoBox(word.box)} CONTENT="${escapeXml(word.text)}" WC="${confidence(word.confidence)}"`;
        if (!word.glyphs?.length) out.push(`            <String ${attrs}/>`);
        else {
          out.push(`            <String ${attrs}>`);
          word.glyphs.forEach((g, k) => {
            const box = { x: Math.round(g.x0), y: line.box.y, width: Math.max(1, Math.round(g.x1) - Math.round(g.x0)), height: line.box.height };
            out.push(`              <Glyph ID="${id}_w${w + 1}_g${k + 1}" ${altoBox(box)} CONTENT="${escapeXml(g.char)}" GC="${confidence(g.confidence)}"/>`);
          });
          out.push('            </String>');
        }
        if (word.spaceAfter) out.push(`            <SP ${altoBox(word.spaceAfter)}/>`);
      });
      out.push('          </TextLine>');
    });
    out.push('        </TextBlock>');
  }
  out.push('      </PrintSpace>', '    </Page>', '  </Layout>', '</alto>', '');
  return out.join('\n');
}

export function pageXml(reading: PageReading, options: XmlWriteOptions = {}): string {
  const date = (options.date ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(`<PcGts xmlns="${PAGE_NS}" xmlns:xsi="${XSI}" xsi:schemaLocation="${PAGE_NS} ${PAGE_NS}/pagecontent.xsd">`);
  out.push('  <Metadata>', `    <Creator>${escapeXml(options.creator ?? 'inkflow')}</Creator>`, `    <Created>${date}</Created>`, `    <LastChange>${date}</LastChange>`, '  </Metadata>');
  out.push(`  <Page imageFilename="${escapeXml(basename(reading.imagePath))}" imageWidth="${int(reading.width)}" imageHeight="${int(reading.height)}">`);
  if (reading.lines.length) {
    out.push('    <ReadingOrder>', '      <OrderedGroup id="order_1">', '        <RegionRefIndexed index="0" regionRef="region_1"/>', '      </OrderedGroup>', '    </ReadingOrder>');
    out.push('    <TextRegion id="region_1">', `      <Coords points="${pagePoints(boxCorners(blockBox(reading)), reading)}"/>`);
    reading.lines.forEach((line, l) => {
      const id = `line_${l + 1}`;
      out.push(`      <TextLine id="${id}">`, `        <Coords points="${pagePoints(line.polygon, reading)}"/>`);
      if (line.baseline && line.baseline.length >= 2) out.push(`        <Baseline points="${pagePoints(line.baseline, reading)}"/>`);
      if (line.glyphs?.length) {
        lineWords(line).forEach((word, w) => {
          out.push(`        <Word id="${id}_w${w + 1}">`, `          <Coords points="${pagePoints(boxCorners(word.box), reading)}"/>`);
          word.glyphs?.forEach((g, k) => {
            const box = { x: Math.round(g.x0), y: line.box.y, width: Math.max(1, Math.round(g.x1) - Math.round(g.x0)), height: line.box.height };
            out.push(`          <Glyph id="${id}_w${w + 1}_g${k + 1}">`, `            <Coords points="${pagePoints(boxCorners(box), reading)}"/>`);
            out.push(`            <TextEquiv conf="${confidence(g.confidence)}"><Unicode>${escapeXml(g.char)}</Unicode></TextEquiv>`, '          </Glyph>');
          });
          out.push(`          <TextEquiv conf="${confidence(word.confidence)}"><Unicode>${escapeXml(word.text)}</Unicode></TextEquiv>`, '        </Word>');
        });
      }
      out.push(`        <TextEquiv conf="${confidence(line.confidence)}"><Unicode>${escapeXml(line.text)}</Unicode></TextEquiv>`, '      </TextLine>');
    });
    out.push('    </TextRegion>');
  }
  out.push('  </Page>', '</PcGts>', '');
  return out.join('\n');
}

/**
 * Text made safe for XML 1.0 content and attribute values: markup characters escaped, whitespace that
 * attribute normalization would flatten kept as character references, and characters XML cannot carry
 * (control characters, lone surrogates) replaced by U+FFFD.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/[&<>"'\t\n\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' })[c]!);
}

function blockBox(reading: PageReading): LineBox {
  return boundingBox(reading.lines.flatMap((l) => boxCorners(l.box)));
}

function boxCorners({ x, y, width, height }: LineBox): Point[] {
  return [[x, y], [x + width, y], [x + width, y + height], [x, y + height]];
}

const int = (v: number) => String(Math.round(v));
const confidence = (c: number) => (Number.isFinite(c) ? Math.min(1, Math.max(0, c)) : 0).toFixed(4).replace(/0+$/, '').replace(/\.$/, '.0');
const altoBox = (b: LineBox) => `HPOS="${int(b.x)}" VPOS="${int(b.y)}" WIDTH="${int(b.width)}" HEIGHT="${int(b.height)}"`;
const altoPoints = (points: readonly Point[]) => points.map(([x, y]) => `${int(x)} ${int(y)}`).join(' ');

/** PAGE wants non-negative integer points on the image. */
function pagePoints(points: readonly Point[], page: { width: number; height: number }): string {
  const clamp = (v: number, max: number) => Math.min(Math.round(max), Math.max(0, Math.round(v)));
  return points.map(([x, y]) => `${clamp(x, page.width)},${clamp(y, page.height)}`).join(' ');
}
