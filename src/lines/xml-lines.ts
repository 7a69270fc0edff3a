/**
 * Reads line-level ground truth from ALTO v4 and PAGE XML (2013 and 2019), as eScriptorium, Kraken and
 * Transkribus export them: each text line's polygon, baseline and transcription, with the page image
 * they refer to. Errors name the XML file and line and say what to fix.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { UserInputError } from '../errors.js';
import { imageDimensions } from '../data/images.js';
import { boundingBox, boxPolygon, type LineBox, type Point } from './geometry.js';

export interface XmlLine {
  id: string;
  /** Unicode NFC. ALTO: String/@CONTENT joined with SP as spaces; PAGE: the TextLine's own TextEquiv/Unicode. */
  text: string;
  polygon: Point[];
  baseline?: Point[];
  box: LineBox;
  /** Line of the XML file where the TextLine starts, for error messages. */
  sourceLine: number;
  /** Set when the transcription is empty and the reader was told to keep such lines (`emptyText: 'flag'`). */
  emptyText?: true;
}

export interface XmlPage {
  xmlPath: string;
  /** Absolute path of the page image, resolved next to the XML file. */
  imagePath: string;
  width: number;
  height: number;
  lines: XmlLine[];
}

export interface ReadLineXmlOptions {
  /** What an empty transcription does: fail (the default), or come back flagged `emptyText` for the caller to skip with a warning. */
  emptyText?: 'error' | 'flag';
  /** How far (px) a polygon may stray outside the page and be clipped as rounding; beyond that it is an error. */
  outsideTolerance?: number;
}

export const ALTO_NAMESPACE_PREFIX = 'http://www.loc.gov/standards/alto/ns-v';
export const PAGE_NAMESPACES = [
  'http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15',
  'http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15',
];

/** A TextLine as the XML says it, before its geometry is checked against the page. */
interface RawLine {
  id: string;
  sourceLine: number;
  polygon?: Point[];
  baseline?: Point[];
  /** ALTO HPOS/VPOS/WIDTH/HEIGHT, the fallback shape when a line has no polygon. */
  box?: LineBox;
  /** ALTO: the String/SP/HYP pieces in order. PAGE: the TextEquiv candidates by @index. */
  pieces: string[];
  equivs: { index: number; text: string }[];
}

interface RawPage {
  format: 'ALTO' | 'PAGE';
  imageName?: string;
  imageNameLine: number;
  width?: number;
  height?: number;
  sizeLine: number;
  unit?: string;
  lines: RawLine[];
}

export async function readLineXml(xmlPath: string, options: ReadLineXmlOptions = {}): Promise<XmlPage> {
  const absolute = resolve(xmlPath);
  const raw = await parse(absolute);
  const where = (line: number) => `${absolute}:${line}`;
  if (raw.format === 'ALTO' && raw.unit && raw.unit !== 'pixel') {
    throw new UserInputError(`${where(1)}: MeasurementUnit is "${raw.unit}"; only pixel coordinates are supported. Export the ALTO with pixel units (eScriptorium and Kraken do by default).`);
  }
  if (!raw.imageName) {
    const element = raw.format === 'ALTO' ? 'Description/sourceImageInformation/fileName' : 'Page/@imageFilename';
    throw new UserInputError(`${where(raw.imageNameLine)}: no page image named (${element} is missing); add the image's file name.`);
  }
  const imagePath = await locateImage(absolute, raw.imageName, raw.imageNameLine);
  const { width, height } = await pageSize(absolute, raw, imagePath);
  if (!raw.lines.length) {
    throw new UserInputError(`${absolute}: the page has no text lines (no TextLine elements); export it from your transcription tool with its lines and their text.`);
  }
  const tolerance = options.outsideTolerance ?? Math.max(8, Math.round(0.005 * Math.max(width, height)));
  const lines = raw.lines.map((line) => finishLine(line, raw.format, { width, height, tolerance, where: where(line.sourceLine), emptyText: options.emptyText ?? 'error' }));
  return { xmlPath: absolute, imagePath, width, height, lines };
}

function finishLine(raw: RawLine, format: RawPage['format'], page: { width: number; height: number; tolerance: number; where: string; emptyText: 'error' | 'flag' }): XmlLine {
  const label = `${page.where}: line ${raw.id}`;
  let polygon = raw.polygon ?? (raw.box ? boxPolygon(raw.box) : undefined);
  if (!polygon || polygon.length < 3) {
    const expected = format === 'ALTO' ? 'Shape/Polygon/@POINTS or HPOS/VPOS/WIDTH/HEIGHT' : 'Coords/@points';
    throw new UserInputError(`${label} has no usable polygon (${expected} with at least 3 points); fix or re-export the line's shape.`);
  }
  polygon = clipToPage(polygon, page, `${label}'s polygon`);
  const baseline = raw.baseline && raw.baseline.length >= 2 ? clipToPage(raw.baseline, page, `${label}'s baseline`) : undefined;
  const text = lineText(raw, format).normalize('NFC');
  const out: XmlLine = { id: raw.id, text, polygon, box: boundingBox(polygon), sourceLine: raw.sourceLine };
  if (baseline) out.baseline = baseline;
  if (!text.trim()) {
    if (page.emptyText === 'error') {
      throw new UserInputError(`${label} has an empty transcription; transcribe it, delete the line, or let the stage skip empty lines.`);
    }
    out.emptyText = true;
  }
  return out;
}

function lineText(raw: RawLine, format: RawPage['format']): string {
  if (format === 'ALTO') return raw.pieces.join('').replace(/\s+/g, ' ').trim();
  if (!raw.equivs.length) return '';
  const best = raw.equivs.reduce((a, b) => (b.index < a.index ? b : a));
  return best.text.replace(/\s+/g, ' ').trim();
}

/** Clips points that stray a little outside the page (rounding); refuses ones that stray far. */
function clipToPage(points: Point[], page: { width: number; height: number; tolerance: number }, what: string): Point[] {
  let worst = 0;
  let worstText = '';
  for (const [x, y] of points) {
    const beyond: [number, string][] = [
      [-x, `left of the page (x=${x})`],
      [-y, `above the page (y=${y})`],
      [x - page.width, `right of the page (x=${x} on a page ${page.width} px wide)`],
      [y - page.height, `below the page (y=${y} on a page ${page.height} px high)`],
    ];
    for (const [distance, text] of beyond) if (distance > worst) [worst, worstText] = [distance, text];
  }
  if (worst > page.tolerance) {
    throw new UserInputError(`${what} lies ${Math.round(worst)} px ${worstText}, more than the ${page.tolerance} px allowed for rounding; fix its coordinates, or the page size if the image was rescaled after the XML was made.`);
  }
  if (!worst) return points;
  return points.map(([x, y]) => [Math.min(page.width, Math.max(0, x)), Math.min(page.height, Math.max(0, y))]);
}

async function locateImage(xmlPath: string, name: string, line: number): Promise<string> {
  const candidates = [isAbsolute(name) ? name : resolve(dirname(xmlPath), name), resolve(dirname(xmlPath), basename(name))];
  for (const candidate of candidates) {
    const info = await stat(candidate).catch(() => undefined);
    if (info?.isFile()) return candidate;
  }
  throw new UserInputError(`${xmlPath}:${line}: names the page image "${name}", which is not at ${candidates[0]}; put the image next to the XML file or correct the file name in the XML.`);
}

/** The page size the coordinates refer to: the XML's, checked against the image's own when its header tells it. */
async function pageSize(xmlPath: string, raw: RawPage, imagePath: string): Promise<{ width: number; height: number }> {
  const image = imageDimensions(await readFile(imagePath));
  const width = raw.width ?? image?.width;
  const height = raw.height ?? image?.height;
  if (!width || !height) {
    throw new UserInputError(`${xmlPath}:${raw.sizeLine}: the page has no usable size (${raw.format === 'ALTO' ? 'Page/@WIDTH and @HEIGHT' : 'Page/@imageWidth and @imageHeight'}); add it.`);
  }
  if (image && (Math.round(width) !== image.width || Math.round(height) !== image.height)) {
    throw new UserInputError(`${xmlPath}:${raw.sizeLine}: the XML describes a ${width}x${height} page but ${imagePath} is ${image.width}x${image.height}; use the image the XML was made from, at its original size.`);
  }
  return { width, height };
}

/** Streams the XML once, collecting the page and its lines; malformed XML fails with its line and column. */
async function parse(xmlPath: string): Promise<RawPage> {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: string[] = [];
  let page: RawPage | undefined;
  let line: RawLine | undefined;
  let tagLine = 1;
  let text: string[] | undefined; // collecting character data for the element on top of the stack
  let equivIndex = 0;
  let equivUnicode: string | undefined;
  const fail = (message: string): never => {
    throw new UserInputError(`${xmlPath}:${tagLine}: ${message}`);
  };
  const points = (value: string, what: string) => parsePoints(value) ?? fail(`${what} "${value.slice(0, 60)}" is not a list of x y coordinates; fix it.`);
  const number = (value: string | undefined, what: string) => {
    if (value === undefined || value === '') return undefined;
    const n = Number(value);
    return Number.isFinite(n) ? n : fail(`${what}="${value}" is not a number; fix it.`);
  };

  parser.on('opentagstart', () => {
    tagLine = parser.line;
  });
  parser.on('opentag', (tag: SaxesTagNS) => {
    const attr = (name: string): string | undefined => tag.attributes[name]?.value;
    const parent = stack[stack.length - 1];
    stack.push(tag.local);
    if (!page) {
      if (tag.uri.startsWith(ALTO_NAMESPACE_PREFIX) && tag.local === 'alto') page = { format: 'ALTO', imageNameLine: tagLine, sizeLine: tagLine, lines: [] };
      else if (PAGE_NAMESPACES.includes(tag.uri) && tag.local === 'PcGts') page = { format: 'PAGE', imageNameLine: tagLine, sizeLine: tagLine, lines: [] };
      else fail(`<${tag.name}>${tag.uri ? ` in namespace ${tag.uri}` : ''} is neither ALTO (v4) nor PAGE XML (2013/2019); export ALTO or PAGE XML from your transcription tool.`);
      return;
    }
    if (page.format === 'ALTO') {
      switch (tag.local) {
        case 'fileName':
        case 'MeasurementUnit':
          text = [];
          if (tag.local === 'fileName') page.imageNameLine = tagLine;
          break;
        case 'Page':
          page.width = number(attr('WIDTH'), 'WIDTH');
          page.height = number(attr('HEIGHT'), 'HEIGHT');
          page.sizeLine = tagLine;
          break;
        case 'TextLine': {
          const box = (['HPOS', 'VPOS', 'WIDTH', 'HEIGHT'] as const).map((name) => number(attr(name), name));
          line = { id: attr('ID') ?? `line at ${tagLine}`, sourceLine: tagLine, pieces: [], equivs: [] };
          if (box.every((v) => v !== undefined)) line.box = { x: box[0]!, y: box[1]!, width: box[2]!, height: box[3]! };
          const baseline = attr('BASELINE');
          if (baseline !== undefined && baseline.trim()) line.baseline = altoBaseline(baseline, line.box) ?? fail(`BASELINE "${baseline.slice(0, 60)}" is neither a point list nor a y position; fix it.`);
          page.lines.push(line);
          break;
        }
        case 'Polygon':
          if (line && parent === 'Shape' && stack[stack.length - 3] === 'TextLine') line.polygon = points(attr('POINTS') ?? '', 'POINTS');
          break;
        case 'String':
          line?.pieces.push(attr('CONTENT') ?? '');
          break;
        case 'SP':
          line?.pieces.push(' ');
          break;
        case 'HYP':
          line?.pieces.push(attr('CONTENT') ?? '-');
          break;
      }
    } else {
      switch (tag.local) {
        case 'Page':
          page.imageName = attr('imageFilename') || undefined;
          page.imageNameLine = page.sizeLine = tagLine;
          page.width = number(attr('imageWidth'), 'imageWidth');
          page.height = number(attr('imageHeight'), 'imageHeight');
          break;
        case 'TextLine':
          line = { id: attr('id') ?? `line at ${tagLine}`, sourceLine: tagLine, pieces: [], equivs: [] };
          page.lines.push(line);
          break;
        case 'Coords':
          if (line && parent === 'TextLine') line.polygon = points(attr('points') ?? '', 'Coords points');
          break;
        case 'Baseline':
          if (line && parent === 'TextLine') line.baseline = points(attr('points') ?? '', 'Baseline points');
          break;
        case 'TextEquiv':
          if (line && parent === 'TextLine') {
            equivIndex = number(attr('index'), 'index') ?? Number.MAX_SAFE_INTEGER;
            equivUnicode = undefined;
          }
          break;
        case 'Unicode':
          if (line && parent === 'TextEquiv' && stack[stack.length - 3] === 'TextLine') text = [];
          break;
      }
    }
  });
  parser.on('text', (chunk) => text?.push(chunk));
  parser.on('cdata', (chunk) => text?.push(chunk));
  parser.on('closetag', (tag: SaxesTagNS) => {
    stack.pop();
    if (!page) return;
    if (text && ['fileName', 'MeasurementUnit', 'Unicode'].includes(tag.local)) {
      const value = text.join('');
      text = undefined;
      if (tag.local === 'fileName') page.imageName = value.trim() || undefined;
      else if (tag.local === 'MeasurementUnit') page.unit = value.trim();
      else equivUnicode = value;
    }
    if (tag.local === 'TextEquiv' && line && stack[stack.length - 1] === 'TextLine' && equivUnicode !== undefined) {
      line.equivs.push({ index: equivIndex, text: equivUnicode });
      equivUnicode = undefined;
    }
    if (tag.local === 'TextLine') line = undefined;
  });

  try {
    const stream = createReadStream(xmlPath, { encoding: 'utf8' });
    for await (const chunk of stream) parser.write(chunk as string);
    parser.close();
  } catch (err) {
    if (err instanceof UserInputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserInputError(`${xmlPath}: no such file`);
    if (code) throw new UserInputError(`${xmlPath}: cannot read (${(err as Error).message})`);
    throw new UserInputError(`${xmlPath}:${parser.line}:${parser.column}: malformed XML (${(err as Error).message.replace(/^(?:[^:]*:)?\d+:\d+: /, '')}); fix the file or export it again.`);
  }
  if (!page) throw new UserInputError(`${xmlPath}: empty file, not ALTO or PAGE XML; export the page again.`);
  return page;
}

/** Points from "x y x y …" (ALTO) or "x,y x,y …" (PAGE); undefined when the numbers do not pair up. */
export function parsePoints(value: string): Point[] | undefined {
  const numbers = value.trim().split(/[\s,]+/).filter(Boolean).map(Number);
  if (!numbers.length || numbers.length % 2 || numbers.some((n) => !Number.isFinite(n))) return undefined;
  const out: Point[] = [];
  for (let i = 0; i < numbers.length; i += 2) out.push([numbers[i]!, numbers[i + 1]!]); // an even count, checked above
  return out;
}

/** ALTO ≥ 4.2 gives the baseline as points; earlier versions as one y position across the line's box. */
function altoBaseline(value: string, box: LineBox | undefined): Point[] | undefined {
  const single = value.trim();
  if (/^[-+]?\d+(\.\d+)?$/.test(single)) {
    if (!box) return undefined;
    const y = Number(single);
    return [[box.x, y], [box.x + box.width, y]];
  }
  return parsePoints(value);
}
