import { describe, it, expect, beforeAll } from 'vitest';
import { copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR } from './helpers.js';
import { readLineXml, type XmlPage } from '../src/lines/xml-lines.js';
import { altoXml, escapeXml, pageXml, writeLineXml, type PageReading } from '../src/lines/xml-write.js';
import { cropLine } from '../src/lines/line-crop.js';
import { readGrayImage } from '../src/data/images.js';
import { UserInputError } from '../src/errors.js';

const PAGES = join(DATA_DIR, 'copiste-pages');

async function pageFiles(): Promise<string[]> {
  return (await readdir(PAGES)).filter((f) => f.endsWith('.xml')).sort().map((f) => join(PAGES, f));
}

/** A reading as the recognizer will hand it over, made from ground truth (confidences from the line index). */
function readingOf(page: XmlPage, imagePath = page.imagePath): PageReading {
  return {
    imagePath,
    width: page.width,
    height: page.height,
    lines: page.lines.map((l, i) => ({ box: l.box, polygon: l.polygon, baseline: l.baseline, text: l.text, confidence: 0.5 + (i % 5) / 10 })),
  };
}

/** A scratch folder holding a copy of a real page image, for hand-made XML to point at. */
async function scratchWithImage(): Promise<{ dir: string; image: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'inkflow-lines-'));
  await copyFile(join(PAGES, 'wikitexte_0014_2.jpg'), join(dir, 'page.jpg'));
  return { dir, image: 'page.jpg' };
}

function altoWith(body: string, { fileName = 'page.jpg', width = 2550, height = 3300 } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#">
  <Description>
    <MeasurementUnit>pixel</MeasurementUnit>
    <sourceImageInformation>
      <fileName>${fileName}</fileName>
    </sourceImageInformation>
  </Description>
  <Layout>
    <Page WIDTH="${width}" HEIGHT="${height}" ID="p1">
      <PrintSpace>
        <TextBlock ID="b1">
${body}
        </TextBlock>
      </PrintSpace>
    </Page>
  </Layout>
</alto>
`;
}

const goodLine = (id: string, content: string, points = '100 100 900 100 900 200 100 200') =>
  `          <TextLine ID="${id}" HPOS="100" VPOS="100" WIDTH="800" HEIGHT="100" BASELINE="100 180 900 180">
            <Shape><Polygon POINTS="${points}"/></Shape>
            <String CONTENT="${content}"/>
          </TextLine>`;

async function inputError(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UserInputError);
  return (err as Error).message;
}

describe('ALTO ground truth from eScriptorium', () => {
  let pages: XmlPage[];
  beforeAll(async () => {
    pages = await Promise.all((await pageFiles()).map((f) => readLineXml(f)));
  });

  it('reads every page with its image, size and lines', async () => {
    expect(pages).toHaveLength(8);
    for (const page of pages) {
      expect(page.imagePath).toBe(page.xmlPath.replace(/\.xml$/, '.jpg'));
      expect([page.width, page.height]).toEqual([2550, 3300]);
      expect(page.lines.length).toBeGreaterThanOrEqual(4);
      const xml = await readFile(page.xmlPath, 'utf8');
      expect(page.lines).toHaveLength(xml.match(/<TextLine\b/g)!.length);
      const xmlLines = xml.split('\n');
      for (const line of page.lines) {
        expect(xmlLines[line.sourceLine - 1]).toContain(`<TextLine ID="${line.id}"`);
        expect(line.text).toBe(line.text.normalize('NFC'));
        expect(line.text.length).toBeGreaterThan(0);
        expect(line.polygon.length).toBeGreaterThanOrEqual(3);
        expect(line.baseline!.length).toBeGreaterThanOrEqual(2);
        for (const [x, y] of line.polygon) {
          expect(x).toBeGreaterThanOrEqual(line.box.x);
          expect(x).toBeLessThanOrEqual(line.box.x + line.box.width);
          expect(y).toBeGreaterThanOrEqual(line.box.y);
          expect(y).toBeLessThanOrEqual(line.box.y + line.box.height);
        }
      }
    }
  });

  it('decodes entities and keeps the transcription as written', () => {
    const page = pages.find((p) => p.xmlPath.endsWith('wikitexte_0007.xml'))!;
    expect(page.lines[0].text.startsWith("J'ai lu les conditions de participation et j'y consens.")).toBe(true);
    expect(page.lines.map((l) => l.text).join(' ')).toMatch(/é/);
  });
});

describe('PAGE XML and ALTO written by inkflow', () => {
  it('round-trips the copiste pages through PAGE 2019 and ALTO', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'inkflow-lines-'));
    for (const file of await pageFiles()) {
      const truth = await readLineXml(file);
      for (const format of ['page', 'alto'] as const) {
        const out = join(dir, `${format}-${truth.xmlPath.split('/').pop()}`);
        await writeLineXml(out, readingOf(truth), format, { date: new Date('2026-01-01T00:00:00Z') });
        // The writer names the image by its file name: the XML finds it when it sits next to it.
        await copyFile(truth.imagePath, join(dir, truth.imagePath.split('/').pop()!));
        const back = await readLineXml(out);
        expect(back.imagePath).toBe(join(dir, truth.imagePath.split('/').pop()!));
        expect([back.width, back.height]).toEqual([truth.width, truth.height]);
        expect(back.lines.map((l) => l.text)).toEqual(truth.lines.map((l) => l.text));
        expect(back.lines.map((l) => l.polygon)).toEqual(truth.lines.map((l) => l.polygon));
        expect(back.lines.map((l) => l.baseline)).toEqual(truth.lines.map((l) => l.baseline));
      }
    }
  });

  it('reads PAGE 2013 as Transkribus exports it, and ALTO before 4.2 with a one-number BASELINE', async () => {
    const { dir } = await scratchWithImage();
    const truth = await readLineXml(join(PAGES, 'wikitexte_0014_2.xml'));
    const page2013 = pageXml(readingOf(truth, join(dir, 'page.jpg'))).replaceAll('pagecontent/2019-07-15', 'pagecontent/2013-07-15');
    await writeFile(join(dir, 'p2013.xml'), page2013);
    expect((await readLineXml(join(dir, 'p2013.xml'))).lines.map((l) => l.text)).toEqual(truth.lines.map((l) => l.text));
    await writeFile(join(dir, 'alto41.xml'), altoWith(goodLine('l1', 'x').replace('BASELINE="100 180 900 180"', 'BASELINE="180"')));
    expect((await readLineXml(join(dir, 'alto41.xml'))).lines[0].baseline).toEqual([[100, 180], [900, 180]]);
  });

  it('writes words, spaces and glyphs, and escapes markup', async () => {
    const { dir } = await scratchWithImage();
    const text = 'a<b & "c" \'d\'';
    const chars = Array.from(text);
    const reading: PageReading = {
      imagePath: join(dir, 'page.jpg'),
      width: 2550,
      height: 3300,
      lines: [{
        box: { x: 100, y: 100, width: 20 * chars.length, height: 60 },
        polygon: [[100, 100], [100 + 20 * chars.length, 100], [100 + 20 * chars.length, 160], [100, 160]],
        baseline: [[100, 150], [100 + 20 * chars.length, 150]],
        text,
        confidence: 0.9,
        glyphs: chars.map((char, i) => ({ char, x0: 100 + 20 * i, x1: 118 + 20 * i, confidence: 0.8 })),
      }],
    };
    const alto = altoXml(reading);
    expect(alto).toContain('CONTENT="a&lt;b"');
    expect(alto).toContain('CONTENT="&quot;c&quot;"');
    expect(alto.match(/<String /g)).toHaveLength(4);
    expect(alto.match(/<SP /g)).toHaveLength(3);
    expect(alto.match(/<Glyph /g)).toHaveLength(chars.filter((c) => c !== ' ').length);
    expect(alto).toContain('<String ID="line_1_w1" HPOS="100" VPOS="100" WIDTH="58" HEIGHT="60" CONTENT="a&lt;b" WC="0.8">');
    const page = pageXml(reading, { date: new Date('2026-01-01T00:00:00Z') });
    expect(page).toContain('<Unicode>a&lt;b &amp; &quot;c&quot; &apos;d&apos;</Unicode>');
    expect(page.match(/<Word /g)).toHaveLength(4);
    for (const [format, xml] of [['alto', alto], ['page', page]] as const) {
      await writeFile(join(dir, `out.${format}.xml`), xml);
      const back = await readLineXml(join(dir, `out.${format}.xml`));
      expect(back.lines[0].text).toBe(text);
    }
    expect(escapeXml('x\u0001y\nz\ud800')).toBe('x\ufffdy&#10;z\ufffd');
  });
});

describe('bad ground truth', () => {
  it('names the missing image, its line and the fix', async () => {
    const { dir } = await scratchWithImage();
    await writeFile(join(dir, 'p.xml'), altoWith(goodLine('l1', 'x'), { fileName: 'elsewhere.jpg' }));
    const message = await inputError(readLineXml(join(dir, 'p.xml')));
    expect(message).toContain(`${join(dir, 'p.xml')}:6:`);
    expect(message).toContain('"elsewhere.jpg"');
    expect(message).toMatch(/put the image next to the XML/);
  });

  it('clips a polygon a few pixels outside the page and refuses one far outside, saying by how much', async () => {
    const { dir } = await scratchWithImage();
    await writeFile(join(dir, 'ok.xml'), altoWith(goodLine('l1', 'x', '-3 100 2553 100 2553 200 -3 200')));
    const ok = await readLineXml(join(dir, 'ok.xml'));
    expect(ok.lines[0].box).toEqual({ x: 0, y: 100, width: 2550, height: 100 });
    await writeFile(join(dir, 'far.xml'), altoWith(`${goodLine('l1', 'x')}\n${goodLine('l2', 'y', '100 300 3073 300 3073 400 100 400')}`));
    const message = await inputError(readLineXml(join(dir, 'far.xml')));
    expect(message).toMatch(/far\.xml:17: line l2's polygon lies 523 px right of the page \(x=3073 on a page 2550 px wide\)/);
  });

  it('fails on an empty transcription, or flags it when asked', async () => {
    const { dir } = await scratchWithImage();
    await writeFile(join(dir, 'p.xml'), altoWith(`${goodLine('l1', 'x')}\n${goodLine('l2', ' ')}`));
    const message = await inputError(readLineXml(join(dir, 'p.xml')));
    expect(message).toMatch(/p\.xml:17: line l2 has an empty transcription; transcribe it/);
    const page = await readLineXml(join(dir, 'p.xml'), { emptyText: 'flag' });
    expect(page.lines.map((l) => [l.text, l.emptyText])).toEqual([['x', undefined], ['', true]]);
  });

  it('refuses a page with no text lines', async () => {
    const { dir } = await scratchWithImage();
    await writeFile(join(dir, 'p.xml'), altoWith(''));
    expect(await inputError(readLineXml(join(dir, 'p.xml')))).toMatch(/p\.xml: the page has no text lines/);
  });

  it('reports malformed XML at its line and column', async () => {
    const { dir } = await scratchWithImage();
    await writeFile(join(dir, 'p.xml'), altoWith(goodLine('l1', 'x')).replace('</TextLine>', '</TextLin>'));
    expect(await inputError(readLineXml(join(dir, 'p.xml')))).toMatch(/p\.xml:16:\d+: malformed XML \(.+\); fix the file/);
  });

  it('refuses XML that is neither ALTO nor PAGE, and a page whose size does not match its image', async () => {
    const { dir } = await scratchWithImage();
    await writeFile(join(dir, 'p.xml'), '<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"/>');
    expect(await inputError(readLineXml(join(dir, 'p.xml')))).toMatch(/p\.xml:2: <html> .* is neither ALTO/);
    await writeFile(join(dir, 'q.xml'), altoWith(goodLine('l1', 'x'), { width: 1275, height: 1650 }));
    expect(await inputError(readLineXml(join(dir, 'q.xml')))).toMatch(/q\.xml:10: the XML describes a 1275x1650 page but .*page\.jpg is 2550x3300/);
  });
});

describe('cropLine', () => {
  it('keeps the ink inside the polygon and paints the rest paper', () => {
    const width = 40, height = 30;
    const data = new Uint8Array(width * height).fill(0); // all ink
    const triangle: [number, number][] = [[10, 5], [30, 5], [10, 25]];
    const line = cropLine({ width, height, data }, triangle);
    expect([line.width, line.height]).toEqual([20, 20]);
    let inside = 0;
    for (let y = 0; y < line.height; y++) {
      for (let x = 0; x < line.width; x++) {
        const v = line.data[y * line.width + x];
        // Inside the triangle x + y <= 20 (pixel centres), the page's ink; outside, paper.
        expect(v).toBe(x + 0.5 + y + 0.5 <= 20 ? 0 : 255);
        if (!v) inside++;
      }
    }
    expect(inside).toBeGreaterThan(150);
  });

  it('crops the real lines of a page', async () => {
    const truth = await readLineXml(join(PAGES, 'wikitexte_0014_2.xml'));
    const page = await readGrayImage(truth.imagePath);
    for (const l of truth.lines) {
      const line = cropLine(page, l.polygon);
      expect([line.width, line.height]).toEqual([l.box.width, l.box.height]);
      let paper = 0, dark = 0;
      for (const v of line.data) {
        if (v === 255) paper++;
        if (v < 128) dark++;
      }
      expect(paper).toBeGreaterThan(0); // outside the polygon
      expect(dark).toBeGreaterThan(line.data.length * 0.005); // the handwriting
    }
  });
});
