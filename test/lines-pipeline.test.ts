/**
 * The line recognizer's real path on small data: every line stage of a
 * lines.yaml-shaped pipeline on real Copiste lines and ALTO pages (tiny model,
 * few steps), `inkflow read` on a line and a page (text, JSON, ALTO), the
 * line model in real Keras, and the bad inputs of issue #10.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { DATA_DIR, inkflow, ROOT, runJson, workspace } from './helpers.js';
import { loadTf } from '../src/ml/tf.js';
import { encodeNpy, parseNpy } from '../src/data/npy.js';
import { loadLineModel } from '../src/lines/line-model-artifact.js';
import { LINE_PRESETS } from '../src/lines/line-model.js';
import { readLineXml } from '../src/lines/xml-lines.js';
import { readLineDataset } from '../src/lines/line-dataset.js';
import { loadWords } from '../src/phrases/words.js';

const LINES = join(DATA_DIR, 'copiste-lines');
const PAGES = join(DATA_DIR, 'copiste-pages');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');

const PIPELINE = `
name: lines-small
params:
  lines: ${LINES}/lines.tsv
stages:
  load-train:
    uses: load-lines
    params: { path: "\${params.lines}", split: [train], limit: 48, height: 16, seed: 1 }
  load-validation:
    uses: load-lines
    params: { path: "\${params.lines}", split: [validation], limit: 12, height: 16 }
  load-test:
    uses: load-lines
    params: { path: "\${params.lines}", split: [test], limit: 12, height: 16 }
  load-pages:
    uses: load-lines
    params: { path: ${PAGES}/wikitexte_0007.xml, height: 16 }
  charset:
    uses: charset
    inputs: { dataset: load-train.dataset, check: load-validation.dataset }
  build-line-model:
    uses: build-line-model
    inputs: { charset: charset.charset }
    params: { preset: tiny }
  train-lines:
    uses: train-lines
    inputs: { model: build-line-model.model, dataset: load-train.dataset, validation: load-validation.dataset }
    params: { epochs: 2, batch_size: 8, steps_per_epoch: 3, warmup_steps: 2 }
  fine-tune:
    uses: train-lines
    inputs: { model: train-lines.model, dataset: load-train.dataset }
    params: { epochs: 1, batch_size: 4, steps_per_epoch: 2, augment: { enabled: false }, learning_rate: 0.0003 }
  language-model:
    uses: language-model
    inputs: { dataset: load-train.dataset, validation: load-validation.dataset }
    params: { order: 4, corpus: corpus.txt }
  evaluate-lines:
    uses: evaluate-lines
    inputs: { model: train-lines.model, dataset: load-test.dataset, lm: language-model.lm, lexicon: load-train.dataset, tuning: load-validation.dataset }
    params: { beam_width: 4, worst: 3, words_file: words.txt }
  save:
    uses: save-hdf5
    inputs: { model: train-lines.model }
`;

let ws: string;
let run: Awaited<ReturnType<typeof runJson>>;
const out = (...parts: string[]) => join(ws, 'artifacts', 'lines-small', ...parts);

// A corpus and a word list as large as real ones (a French word list holds 336,000 words).
const BIG = 200_000;
const bigWords = (english: string[]) => Array.from({ length: BIG }, (_, i) => english[i % english.length]! + (i < english.length ? '' : 'x'));

beforeAll(async () => {
  const words = bigWords(await loadWords());
  ws = await workspace({ 'lines.yaml': PIPELINE, 'words.txt': words.join('\n') + '\n', 'corpus.txt': words.map((w, i) => `${w} ${words[(i * 7) % BIG]}`).join('\n') + '\n' });
  run = await runJson(ws, ['lines.yaml']);
}, 600_000);

describe('line pipeline on real lines', () => {
  it('runs every line stage', async () => {
    expect(run.summary.ok, run.result.all).toBe(true);
    expect(Object.values(run.statuses).every((s) => s === 'ran')).toBe(true);
    const train = await readLineDataset(out('load-train', 'dataset'));
    expect(train.lines).toHaveLength(48);
    expect(train.lines.every((l) => l.split === 'train' && l.text.length > 0 && l.width > 16)).toBe(true);
    expect(train.pixels.length).toBe(train.lines.reduce((s, l) => s + l.width * 16, 0));
    const pages = await readLineDataset(out('load-pages', 'dataset'));
    const xml = await readLineXml(join(PAGES, 'wikitexte_0007.xml'));
    expect(pages.lines.map((l) => l.text)).toEqual(xml.lines.map((l) => l.text));
    const charset = JSON.parse(await readFile(out('charset', 'charset'), 'utf8'));
    expect(charset.characters).toContain('e');
    // Rules are erased by default, where they run bare, and the trained model carries that, so `inkflow read` erases them the same way.
    expect(train.meta).toMatchObject({ erase_rules: true, rule_erasure: 'bare' });
    expect(JSON.parse(await readFile(out('train-lines', 'model', 'line-model.json'), 'utf8'))).toMatchObject({ erase_rules: true, rule_erasure: 'bare' });
    const history = JSON.parse(await readFile(out('train-lines', 'history'), 'utf8'));
    expect(history.epochs).toHaveLength(2);
    expect(history.epochs[0].val_cer).toBeGreaterThan(0);
    const lm = JSON.parse(await readFile(join(ws, 'logs', 'runs', run.summary.runId, 'run.json'), 'utf8')).stages['language-model'].metrics;
    expect(lm.lines).toBe(48 + BIG);
    const metrics = JSON.parse(await readFile(out('evaluate-lines', 'report', 'metrics.json'), 'utf8'));
    expect(metrics.lines).toBe(12);
    for (const decoder of ['greedy', 'lm', 'lm_lexicon']) expect(metrics.scores[decoder].cer).toBeGreaterThan(0);
    expect(metrics.decoder.lm_weight).toBeGreaterThan(0);
    const csv = (await readFile(out('evaluate-lines', 'report', 'lines.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('id,reference,greedy,lm,lm_lexicon,cer');
    expect(csv).toHaveLength(13);
    expect((await stat(out('evaluate-lines', 'report', 'worst-lines.png'))).size).toBeGreaterThan(1000);
    expect(existsSync(out('save', 'keras', 'model.h5'))).toBe(true);
    expect(existsSync(out('save', 'keras', 'line-model.json'))).toBe(true);
    const runs = await readdir(join(ws, 'logs', 'runs'));
    expect((await readdir(join(ws, 'logs', 'runs', runs[0]!, 'train-lines', 'tensorboard')))[0]).toMatch(/^events\.out\.tfevents\./);
  });

  it('a second run is all cache hits', async () => {
    const again = await runJson(ws, ['lines.yaml']);
    expect(Object.values(again.statuses).every((s) => s === 'cached')).toBe(true);
  }, 120_000);

  it('a line model on disk (Keras .h5 + line-model.json) is imported and fine-tuned', async () => {
    await writeFile(join(ws, 'own-hand.yaml'), `
name: own-hand
stages:
  own-lines:
    uses: load-lines
    params: { path: ${LINES}/lines.tsv, split: [train], limit: 48, height: 16, seed: 1 }
  start:
    uses: import-model
    params: { path: artifacts/lines-small/save/keras }
  fine-tune:
    uses: train-lines
    inputs: { model: start.model, dataset: own-lines.dataset }
    params: { epochs: 1, batch_size: 4, steps_per_epoch: 2, learning_rate: 0.0003 }
`);
    const tuned = await runJson(ws, ['own-hand.yaml']);
    expect(tuned.summary.ok, tuned.result.all).toBe(true);
    const imported = await readFile(join(ws, 'artifacts', 'own-hand', 'start', 'model', 'line-model.json'), 'utf8');
    expect(JSON.parse(imported)).toEqual(JSON.parse(await readFile(out('save', 'keras', 'line-model.json'), 'utf8')));
    expect(existsSync(join(ws, 'artifacts', 'own-hand', 'fine-tune', 'model', 'line-model.json'))).toBe(true);
  }, 120_000);

  it('grows the trained model into a wider one that reads as it did, then trains it; a model of another charset is refused', async () => {
    const wider = [...LINE_PRESETS.tiny!.layers(LINE_PRESETS.tiny!.height), { type: 'conv2d', filters: 32, kernelSize: [1, 3], dilationRate: [1, 4], padding: 'same', activation: 'relu' }];
    const grow = (characters?: string) => `
name: grow
stages:
  own-lines:
    uses: load-lines
    params: { path: ${LINES}/lines.tsv, split: [train], limit: 48, height: 16, seed: 1 }
  charset:
    uses: charset
    inputs: { dataset: own-lines.dataset }
${characters ? `    params: { characters: "${characters}" }\n` : ''}  start:
    uses: import-model
    params: { path: artifacts/lines-small/train-lines/model }
  grow:
    uses: build-line-model
    inputs: { charset: charset.charset, init: start.model }
    params: { height: 16, layers: ${JSON.stringify(wider)} }
  train:
    uses: train-lines
    inputs: { model: grow.model, dataset: own-lines.dataset }
    params: { epochs: 1, batch_size: 4, steps_per_epoch: 2 }
`;
    await writeFile(join(ws, 'grow.yaml'), grow());
    const grown = await runJson(ws, ['grow.yaml']);
    expect(grown.summary.ok, grown.result.all).toBe(true);
    const metrics = JSON.parse(await readFile(join(ws, 'logs', 'runs', grown.summary.runId, 'run.json'), 'utf8')).stages.grow.metrics;
    expect(metrics).toMatchObject({ grown_copied: expect.any(Number), grown_identity: 1, grown_fresh: 0 });
    const tf = await loadTf('cpu');
    const [source, larger] = await Promise.all([out('train-lines', 'model'), join(ws, 'artifacts', 'grow', 'grow', 'model')].map((dir) => loadLineModel(tf, dir)));
    const x = tf.randomUniform([2, 16, 96, 1], 0, 1, 'float32', 5);
    const diff = tf.tidy(() => tf.max(tf.abs((source!.model.predict(x) as typeof x).sub(larger!.model.predict(x) as typeof x))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-4);
    expect(larger!.model.layers.some((l) => l.getClassName() === 'ColumnConv')).toBe(true);
    // The grown model reads lines as its source learned them, before any training of its own.
    expect(larger!.meta).toMatchObject({ erase_rules: true, rule_erasure: 'bare' });

    await writeFile(join(ws, 'grow.yaml'), grow('abc '));
    const refused = await inkflow(ws, ['run', 'grow.yaml', '--plain']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/build-line-model: the init model reads \d+ characters and the charset input has 4; grow from a model trained on the same charset/);
  }, 120_000);

  it('reads a line image and a page with the trained line model', async () => {
    const model = out('save', 'tfjs');
    const line = await inkflow(ws, ['read', '--model', model, join(LINES, 'images', 'imp_wikitexte_0022_01.png')]);
    expect(line.exitCode, line.all).toBe(0);
    expect(line.stdout).toMatch(/^.*imp_wikitexte_0022_01\.png\t/);
    // eScriptorium imports XML beside its image: read a copy in the workspace.
    await copyFile(join(PAGES, 'wikitexte_0007.jpg'), join(ws, 'wikitexte_0007.jpg'));
    const page = await inkflow(ws, ['read', '--model', model, 'wikitexte_0007.jpg', '--json', '--alto', '--page', '--out', ws]);
    expect(page.exitCode, page.all).toBe(0);
    const json = JSON.parse(page.stdout.trim().split('\n')[0]!);
    expect(json.lines.length).toBeGreaterThan(10);
    for (const l of json.lines) {
      expect(l.box.width).toBeGreaterThan(0);
      for (const c of l.chars) expect(c.x0 >= 0 && c.x1 <= json.width && c.x0 < c.x1).toBe(true);
    }
    const alto = await readLineXml(join(ws, 'wikitexte_0007.alto.xml'), { emptyText: 'flag' });
    expect(alto.lines).toHaveLength(json.lines.length);
    const pageXml = await readLineXml(join(ws, 'wikitexte_0007.page.xml'), { emptyText: 'flag' });
    expect(pageXml.lines).toHaveLength(json.lines.length);
  }, 120_000);

  it('the line model loads in real Keras and gives the same logits at any width', async () => {
    if (!existsSync(PYTHON)) await execa('bash', [join(ROOT, 'scripts', 'setup-python-env.sh')], { stdio: 'inherit' });
    const tf = await loadTf('cpu');
    const { model } = await loadLineModel(tf, out('save', 'tfjs'));
    const x = tf.randomUniform([2, 16, 148, 1], 0, 1, 'float32', 3);
    const y = model.predict(x) as typeof x;
    const dir = join(ws, 'keras-check');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'x.npy'), encodeNpy(x.dataSync() as Float32Array, x.shape));
    await writeFile(join(dir, 'y.npy'), encodeNpy(y.dataSync() as Float32Array, y.shape));
    const r = await execa(PYTHON, [join(ROOT, 'test', 'python', 'keras_line_check.py'), out('save', 'keras', 'model.h5'), join(dir, 'x.npy'), join(dir, 'y.npy')], { env: { TF_CPP_MIN_LOG_LEVEL: '3' } });
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(report.shape).toEqual(y.shape);
    expect(report.input_shape).toEqual([-1, 16, -1, 1]);
    expect(report.max_abs_diff).toBeLessThan(1e-3);
    tf.dispose([x, y]);
    model.dispose();
  }, 300_000);
});

/** White paper, with an optional black bar of ink. */
async function paperPng(width: number, height: number, ink?: { x: number; y: number; width: number; height: number }): Promise<Uint8Array> {
  const { createCanvas } = await import('@napi-rs/canvas');
  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, width, height);
  if (ink) {
    g.fillStyle = '#000';
    g.fillRect(ink.x, ink.y, ink.width, ink.height);
  }
  return canvas.encode('png');
}

describe('bad line input: a clear error naming the file, and nothing stored', () => {
  async function expectFailure(files: Record<string, string>, pattern: RegExp) {
    const dir = await workspace(files);
    const r = await inkflow(dir, ['run', 'p.yaml', '--plain']);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const objects = existsSync(join(dir, 'artifacts', 'objects')) ? await readdir(join(dir, 'artifacts', 'objects')) : [];
    return { dir, objects };
  }
  const load = (path: string, extra = '') => `name: bad\nstages:\n  load:\n    uses: load-lines\n    params: { path: ${path}${extra} }\n`;

  it('XML naming a missing image', async () => {
    const xml = (await readFile(join(PAGES, 'wikitexte_0007.xml'), 'utf8')).replace('wikitexte_0007.jpg', 'missing-page.jpg');
    const { objects } = await expectFailure({ 'p.yaml': load('page.xml'), 'page.xml': xml }, /page\.xml.*missing-page\.jpg/);
    expect(objects).toEqual([]);
  });

  it('an empty transcription', async () => {
    const { objects } = await expectFailure({ 'p.yaml': load('t.tsv'), 't.tsv': `file\ttext\n${join(LINES, 'images', 'imp_wikitexte_0022_01.png')}\t  \n` }, /t\.tsv:2: empty transcription.*empty_text: skip/);
    expect(objects).toEqual([]);
  });

  it('a line 20,000 px wide', async () => {
    const dir = await workspace();
    await writeFile(join(dir, 'wide.png'), await paperPng(20_000, 60, { x: 100, y: 20, width: 19_000, height: 8 }));
    await writeFile(join(dir, 'p.yaml'), load('t.tsv'));
    await writeFile(join(dir, 't.tsv'), 'file\ttext\nwide.png\tsome text\n');
    const r = await inkflow(dir, ['run', 'p.yaml', '--plain']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/t\.tsv:2 .*wide\.png.*20000 px wide/);
  });

  /** Load t.tsv, build a tiny model and train it; optionally a charset of given characters, validation lines loaded with other params, and a model height. */
  const tinyTraining = ({ characters, validation, height }: { characters?: string; validation?: string; height?: number } = {}) => `name: bad
stages:
  load:
    uses: load-lines
    params: { path: t.tsv, height: 16 }
${validation ? `  load-validation:\n    uses: load-lines\n    params: { path: t.tsv, height: 16, ${validation} }\n` : ''}  charset:
    uses: charset
    inputs: { dataset: load.dataset }
${characters ? `    params: { characters: "${characters}" }\n` : ''}  model:
    uses: build-line-model
    inputs: { charset: charset.charset }
    params: { preset: tiny${height ? `, height: ${height}` : ''} }
  train:
    uses: train-lines
    inputs: { model: model.model, dataset: load.dataset${validation ? ', validation: load-validation.dataset' : ''} }
    params: { epochs: 1 }
`;

  it('a charset mismatch between the model and the data', async () => {
    const files = { 'p.yaml': tinyTraining({ characters: 'abc ' }), 't.tsv': `file\ttext\n${join(LINES, 'images', 'imp_wikitexte_0022_01.png')}\tLa Fédération\n` };
    await expectFailure(files, /train-lines: the training texts use characters the model's charset lacks: "é" ×2, "L" ×1, .*load-lines' text\.map/);
  });

  it('training and validation lines loaded with rules erased differently', async () => {
    const files = { 'p.yaml': tinyTraining({ validation: 'erase_rules: false' }), 't.tsv': `file\ttext\n${join(LINES, 'images', 'imp_wikitexte_0111_06.png')}\thabitants en 2020.\n` };
    await expectFailure(files, /train-lines: the training lines were loaded with rules erased where no writing is near \(erase_rules: bare, the default\) but the validation lines with rules kept \(erase_rules: false\); set erase_rules alike in the load-lines stages that feed train-lines' dataset and validation inputs/);
  });

  it('a preset asked for a height it cannot fold', async () => {
    const files = { 'p.yaml': tinyTraining({ height: 18 }), 't.tsv': `file\ttext\n${join(LINES, 'images', 'imp_wikitexte_0022_01.png')}\tLa Fédération\n` };
    await expectFailure(files, /build-line-model: preset tiny reads heights that are multiples of 4, not 18; set params\.height and load-lines' height to 20/);
  });

  it('a page with no text', async () => {
    const dir = await workspace();
    await writeFile(join(dir, 'blank.png'), await paperPng(1200, 1600));
    await copyFile(join(ROOT, 'package.json'), join(dir, 'package.json'));
    const r = await inkflow(dir, ['read', '--model', out('save', 'tfjs'), 'blank.png']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/blank\.png: no text lines found on this page/);
  });

  it('a model, language model or word list that is not one', async () => {
    const dir = await workspace();
    await writeFile(join(dir, 'page.png'), await paperPng(200, 100));
    await writeFile(join(dir, 'other.json'), '{"a": 1}');
    await writeFile(join(dir, 'empty.txt'), '');
    const line = join(LINES, 'images', 'imp_wikitexte_0022_01.png');
    const cases: [string[], RegExp][] = [
      [['--lm', 'page.png'], /page\.png: not JSON; --lm takes the lm file of a language-model stage/],
      [['--lm', 'other.json'], /other\.json: format is undefined, expected "inkflow-char-ngram".*--lm takes the lm file/],
      [['--lm', 'missing-lm'], /missing-lm: no such file; --lm takes/],
      [['--words', 'missing.txt'], /missing\.txt: no such file; give a word list, one word per line/],
      [['--words', 'empty.txt'], /empty\.txt: no words in it; give a word list/],
    ];
    for (const [option, message] of cases) {
      const r = await inkflow(dir, ['read', '--model', out('save', 'tfjs'), ...option, line]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const outUnderAFile = await inkflow(dir, ['read', '--model', out('save', 'tfjs'), '--alto', '--out', join('empty.txt', 'xml'), line]);
    expect(outUnderAFile.exitCode).toBe(1);
    expect(outUnderAFile.stderr).toMatch(/cannot write .*empty\.txt\/xml\/imp_wikitexte_0022_01\.alto\.xml: a part of its path is a file, not a folder/);
    expect(outUnderAFile.stderr).not.toMatch(/\n\s+at /);
    const noModel = await inkflow(dir, ['read', '--model', 'no-such-model', line]);
    expect(noModel.exitCode).toBe(1);
    expect(noModel.stderr).toMatch(/no-such-model: model not found; give a tfjs folder \(model\.json\), a Keras \.h5 file, or a stage output/);
  });
});
