/**
 * Loads text-line images with their transcriptions into a line dataset: every
 * line normalized to one height at its own width, transcriptions in NFC with
 * optional mappings. Sources: a TSV/CSV of file,text (plus writer and split
 * columns), ALTO v4 or PAGE XML with their page images (lines cut out by their
 * polygons), or synthetic phrases from `synth-phrases`.
 */
import { extname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { defineStage, StrictObject, StringEnum, Type, type Static } from '../src/engine/stage-api.js';
import { throwIfCancelled, UserInputError } from '../src/errors.js';
import { normalizeLine } from '../src/lines/line-image.js';
import { assembleLineDataset, writeLineDataset } from '../src/lines/line-dataset.js';
import { readLineTable, readLineImage, readXmlLines, type LineSourceEntry } from '../src/lines/line-sources.js';
import { normalizeText, textOptions } from '../src/lines/text-normalize.js';
import { readLabels } from '../src/phrases/phrase-set.js';
import { rng, shuffle } from '../src/util/random.js';
import type { LineImage } from '../src/lines/line-image.js';
import { RULE_ERASURE, RULE_ERASURE_METHODS, withRuleErasure } from '../src/lines/line-rules.js';

export const loadLinesParams = StrictObject({
  path: Type.Optional(Type.String({ description: 'a TSV or CSV with file and text columns (optional writer, split), or an ALTO/PAGE XML file or folder of them' })),
  images: Type.Optional(Type.String({ description: "folder the file column is relative to (default: the table's folder, then its images/ subfolder)" })),
  split: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'keep only lines whose split column is one of these' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, description: 'keep this many lines, drawn with the seed (small runs)' })),
  seed: Type.Integer({ default: 0 }),
  height: Type.Integer({ minimum: 8, maximum: 256, default: 40 }),
  max_width: Type.Integer({ minimum: 16, default: 4096, description: 'widest normalized line accepted, in pixels' }),
  text: textOptions,
  empty_text: StringEnum(['error', 'skip'], { default: 'error', description: 'what an empty transcription does' }),
  erase_rules: Type.Union([Type.Boolean(), StringEnum([...RULE_ERASURE_METHODS])], {
    default: true,
    description: 'erase the printed or dotted rule lines were written on: true or bare, where no writing lies near it; band, across its whole band (as inkflow did before December 2026, for models trained so); the model trained on them reads with the same setting',
  }),
});

export default defineStage<Static<typeof loadLinesParams>>({
  description: 'load line images and transcriptions (TSV/CSV, ALTO/PAGE XML, or synthetic phrases) as a line dataset',
  version: 2,
  paramsSchema: loadLinesParams,
  inputs: { phrases: { description: 'synthetic phrases from synth-phrases, instead of path' } },
  outputs: ['dataset'],
  fileParams: (p) => [p.path, p.images].filter((f): f is string => !!f),
  async run(ctx) {
    const p = ctx.params;
    let entries: LineSourceEntry[];
    let source: string;
    if (ctx.inputs.phrases) {
      if (p.path) throw new UserInputError('load-lines: give either params.path or inputs.phrases, not both');
      source = 'synth-phrases';
      entries = (await readLabels(ctx.inputs.phrases)).map((e, i) => {
        const image = resolve(ctx.inputs.phrases!, e.file);
        const where = `labels.tsv:${i + 2}`;
        return { image, load: () => readLineImage(image, where), text: e.text, id: e.file, where };
      });
    } else {
      if (!p.path) throw new UserInputError('load-lines: set params.path to a TSV/CSV of file,text, or wire inputs.phrases');
      source = p.path;
      const path = resolve(ctx.workspace, p.path);
      const xml = extname(path).toLowerCase() === '.xml' || statSync(path, { throwIfNoEntry: false })?.isDirectory();
      entries = xml ? await readXmlLines(path, p.empty_text) : await readLineTable(path, p.images && resolve(ctx.workspace, p.images));
    }
    if (p.split) {
      const wanted = new Set(p.split);
      const found = new Set(entries.map((e) => e.split ?? ''));
      entries = entries.filter((e) => e.split !== undefined && wanted.has(e.split));
      if (!entries.length) throw new UserInputError(`load-lines: no line has split ${p.split.join(' or ')} in ${source} (splits there: ${[...found].join(', ') || 'none: add a split column'})`);
    }
    if (p.limit && entries.length > p.limit) entries = shuffle(entries, rng(p.seed)).slice(0, p.limit).sort((a, b) => (a.where < b.where ? -1 : 1));
    const eraseRules = p.erase_rules === true ? RULE_ERASURE : p.erase_rules;
    const lines: { id: string; text: string; image: LineImage; writer?: string; split?: string }[] = [];
    let skipped = 0;
    for (const [i, e] of entries.entries()) {
      throwIfCancelled(ctx.signal);
      const text = normalizeText(e.text, p.text);
      if (!text) {
        if (p.empty_text === 'error') throw new UserInputError(`${e.where}: empty transcription for ${e.id}; transcribe it, remove the row, or set load-lines' empty_text: skip`);
        skipped++;
        continue;
      }
      const img = await e.load();
      const image = normalizeLine(img, { height: p.height, maxWidth: p.max_width, source: `${e.where} (${e.image})`, eraseRules });
      lines.push({ id: e.id, text, image, ...(e.writer ? { writer: e.writer } : {}), ...(e.split ? { split: e.split } : {}) });
      if (i % 50 === 0) ctx.progress.update(`line ${i + 1}/${entries.length}`);
    }
    if (skipped) ctx.log.warn(`skipped ${skipped} lines with empty transcriptions`);
    if (!lines.length) throw new UserInputError(`load-lines: no lines with text in ${source}`);
    const ds = assembleLineDataset(lines, withRuleErasure({ height: p.height, sources: [source] }, eraseRules));
    await writeLineDataset(ctx.output('dataset'), ds);
    const widths = lines.map((l) => l.image.width).sort((a, b) => a - b);
    ctx.log.info(`${lines.length} lines at height ${p.height}, widths ${widths[0]}..${widths[widths.length - 1]} (median ${widths[widths.length >> 1]}), ${(ds.pixels.length / 1e6).toFixed(1)} MB`);
    ctx.recordMetrics({ lines: lines.length, skipped_empty: skipped, characters: lines.reduce((s, l) => s + [...l.text].length, 0) });
  },
});
