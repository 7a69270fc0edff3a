/**
 * The real path end to end: pipelines/quick.yaml on the real NIST letters with
 * real tfjs (few steps), then its artifacts checked in TypeScript and, with the
 * Python test environment (scripts/setup-python-env.sh), by Keras, TensorBoard and NumPy.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { DATA_DIR, inkflow, ROOT, runJson, workspace } from './helpers.js';
import { loadTf } from '../src/ml/tf.js';
import { loadKerasH5 } from '../src/ml/keras-h5.js';
import { loadModel } from '../src/ml/model-io.js';
import { parseNpy, encodeNpy } from '../src/data/npy.js';
import { parseNpz } from '../src/data/npz.js';

const QUICK = ['pipelines/quick.yaml', '--set', 'train.epochs=2', '--set', 'train.steps_per_epoch=6'];
let ws: string;
let firstRun: Awaited<ReturnType<typeof runJson>>;

beforeAll(async () => {
  ws = await workspace();
  await cp(join(ROOT, 'pipelines'), join(ws, 'pipelines'), { recursive: true });
  firstRun = await runJson(ws, QUICK);
}, 300_000);

const out = (...parts: string[]) => join(ws, 'artifacts', 'quick', ...parts);

describe('quick pipeline on real data', () => {
  it('runs every stage and exposes outputs at stable paths', async () => {
    expect(firstRun.summary.ok).toBe(true);
    expect(Object.values(firstRun.statuses).every((s) => s === 'ran')).toBe(true);
    for (const file of ['save-hdf5/keras/model.h5', 'save-hdf5/tfjs/model.json', 'save-hdf5/tfjs/weights.bin', 'write-labels/labels', 'evaluate/report/metrics.json', 'evaluate/report/confusion.csv', 'visualize/plots/curves.png', 'visualize/plots/confusion.png', 'visualize/plots/misclassified.png', 'train/history']) {
      expect((await stat(out(file))).size).toBeGreaterThan(0);
    }
    expect(JSON.parse(await readFile(out('write-labels/labels'), 'utf8'))).toMatchObject({ 0: 'a', 25: 'z' });
    const metrics = JSON.parse(await readFile(out('evaluate/report/metrics.json'), 'utf8'));
    expect(metrics.count).toBe(520);
    expect(metrics.accuracy).toBeGreaterThan(1 / 26);
    expect(metrics.per_class).toHaveLength(26);
    const runs = await readdir(join(ws, 'logs/runs'));
    expect((await readdir(join(ws, 'logs/runs', runs[0], 'train', 'tensorboard')))[0]).toMatch(/^events\.out\.tfevents\./);
  });

  it('a second run is all cache hits; a forced rerun reproduces the metrics exactly', async () => {
    const again = await runJson(ws, QUICK);
    expect(Object.values(again.statuses).every((s) => s === 'cached')).toBe(true);
    const before = await readFile(out('evaluate/report/metrics.json'), 'utf8');
    const forced = await runJson(ws, [...QUICK, '--from', 'build-model']);
    expect(forced.summary.ok).toBe(true);
    const after = JSON.parse(await readFile(out('evaluate/report/metrics.json'), 'utf8'));
    const { inference_images_per_second: _a, ...a } = JSON.parse(before);
    const { inference_images_per_second: _b, ...b } = after;
    expect(b).toEqual(a);
  });

  it('a YAML list of layers, augmentation and class-balanced sampling train too; the summary is logged', async () => {
    const { parse, stringify } = await import('yaml');
    const quick = parse(await readFile(join(ws, 'pipelines/quick.yaml'), 'utf8'));
    quick.stages['build-model'].params = {
      layers: [{ type: 'conv2d', filters: 8, kernelSize: 3, activation: 'relu' }, { type: 'maxPooling2d', poolSize: 2 }, { type: 'flatten' }, { type: 'dropout', rate: 0.2 }],
    };
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(ws, 'pipelines/custom.yaml'), stringify({ ...quick, name: 'custom' }));
    const run = await runJson(ws, ['pipelines/custom.yaml', ...QUICK.slice(1), '--set', 'train.augment={shift: 0.1, rotate: 8, scale: 0.1}', '--set', 'train.sampling=balanced']);
    expect(run.statuses).toMatchObject({ 'build-model': 'ran', train: 'ran' });
    const history = JSON.parse(await readFile(join(ws, 'artifacts/custom/train/history'), 'utf8'));
    expect(history.epochs).toHaveLength(2);
    expect(history.epochs.every((e: { loss: number }) => Number.isFinite(e.loss))).toBe(true);
    const logs = run.events.filter((e) => e.event === 'stage-log' && e.stage === 'build-model').map((e) => e.message).join('\n');
    expect(logs).toMatch(/conv_1 \(Conv2D\)/);
    expect(logs).toMatch(/Total params: 35258/);
    const bad = await runJson(ws, ['pipelines/custom.yaml', '--set', 'build-model.layers=[{type: conv3d}]']).catch((e) => e);
    expect(String(bad)).toMatch(/stages\.build-model\.params\.layers\.0\.type must be one of "conv2d"/);
  });

  it('the .h5 and the tfjs folder load back in TypeScript with the same predictions', async () => {
    const tf = await loadTf('wasm');
    const fromH5 = await loadKerasH5(tf, out('save-hdf5/keras/model.h5'));
    const fromTfjs = await loadModel(tf, out('save-hdf5/tfjs'));
    const x = tf.randomUniform([16, 28, 28, 1]);
    const a = (fromH5.predict(x) as any).dataSync();
    const b = (fromTfjs.predict(x) as any).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('predict reads real scanned crops', async () => {
    const r = await inkflow(ws, ['predict', '--model', 'artifacts/quick/save-hdf5', '--json', join(DATA_DIR, 'chars62-scans', 'lower_e')]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(50);
    expect(lines[0].top3).toHaveLength(3);
    expect(lines[0].letter).toMatch(/^[a-z]$/);
    const bad = await inkflow(ws, ['predict', '--model', 'artifacts/quick/save-hdf5', 'pipelines/quick.yaml']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('pipelines/quick.yaml: not a decodable image');
  });
});

const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const havePython = (() => {
  try {
    execaSync('python3', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
if (!havePython) console.warn('\n!!! interop tests SKIPPED: no python3 on this machine (see scripts/setup-python-env.sh) !!!\n');
const interop = havePython ? describe : describe.skip;

async function python(script: string, args: string[]) {
  const r = await execa(PYTHON, [join(ROOT, 'test', 'python', script), ...args], { env: { TF_CPP_MIN_LOG_LEVEL: '3' } });
  return r.stdout.trim().split('\n').pop()!;
}

interop('interop with the real tools', () => {
  // `npm test` on a fresh clone makes the Python environment itself (pinned wheels from PyPI; minutes the first time).
  beforeAll(async () => {
    if (!existsSync(PYTHON)) await execa('bash', [join(ROOT, 'scripts', 'setup-python-env.sh')], { stdio: 'inherit' });
    expect(existsSync(PYTHON)).toBe(true);
  }, 1_200_000);

  it.each(['seed-cnn', 'default'])('Keras loads our %s .h5 with the same layers, parameters and predictions', async (preset) => {
    if (preset !== 'seed-cnn') expect((await runJson(ws, [...QUICK, '--set', `build-model.preset=${preset}`])).summary.ok).toBe(true);
    const report = JSON.parse(await python('keras_check.py', [out('save-hdf5/keras/model.h5'), out('reshape-test/dataset/images.npy'), out('evaluate/report/probabilities.npy')]));
    expect(report.argmax_agree).toBe(1);
    expect(report.max_abs_diff).toBeLessThanOrEqual(1e-4);
    const tf = await loadTf('wasm');
    const ours = await loadModel(tf, out('save-hdf5/tfjs'));
    expect(report.params).toBe(ours.countParams());
    const ourLayers = ours.layers.map((l) => l.getClassName());
    expect(report.layers).toEqual(ourLayers);
    if (preset === 'default') expect(ourLayers).toEqual(expect.arrayContaining(['BatchNormalization', 'Dropout']));
  });

  it('a Keras-saved .h5 works for evaluate, predict and as the starting point of train', async () => {
    const kws = await workspace();
    const test = parseNpz(new Uint8Array(await readFile(join(DATA_DIR, 'nist-letters-test.npz'))), 'test', ['images']);
    await mkdir(join(kws, 'in'), { recursive: true });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(kws, 'in', 'x.npy'), encodeNpy((test.images.data as Uint8Array).subarray(0, 300 * 784), [300, 28, 28]));
    await python('keras_make.py', [join(kws, 'in', 'keras.h5'), join(kws, 'in', 'x.npy'), join(kws, 'in', 'keras-preds.npy')]);
    const kerasPreds = parseNpy(new Uint8Array(await readFile(join(kws, 'in', 'keras-preds.npy')))).data as Float32Array;
    const tf = await loadTf('wasm');
    const model = await loadKerasH5(tf, join(kws, 'in', 'keras.h5'));
    const x = tf.tensor(Float32Array.from((test.images.data as Uint8Array).subarray(0, 200 * 784), (v) => v / 255), [200, 28, 28, 1]);
    const ours = (model.predict(x) as any).dataSync() as Float32Array;
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - kerasPreds[i]));
    expect(worst).toBeLessThanOrEqual(1e-4);
    await writeFile(join(kws, 'p.yaml'), `name: from-keras
stages:
  model: { uses: import-model, params: { path: in/keras.h5 } }
  load: { uses: load, params: { path: "${DATA_DIR}/nist-letters-test.npz", classes: abcdefghijklmnopqrstuvwxyz } }
  few: { uses: subset, inputs: { dataset: load.dataset }, params: { count: 300, seed: 1 } }
  shape: { uses: reshape, inputs: { dataset: few.dataset }, params: { shape: [28, 28, 1] } }
  evaluate: { uses: evaluate, inputs: { model: model.model, dataset: shape.dataset } }
  train:
    uses: train
    inputs: { model: model.model, dataset: shape.dataset }
    params: { epochs: 1, steps_per_epoch: 2, reduce_lr: { enabled: false }, early_stopping: { enabled: false } }
`);
    const run = await runJson(kws, ['p.yaml']);
    expect(run.statuses).toMatchObject({ model: 'ran', evaluate: 'ran', train: 'ran' });
    const predicted = await inkflow(kws, ['predict', '--model', 'in/keras.h5', join(DATA_DIR, 'chars62-scans', 'lower_a')]);
    expect(predicted.exitCode).toBe(0);
  });

  it('TensorBoard reads our event files: one value per epoch per tag, equal to the history', async () => {
    const scalars = JSON.parse(await python('tensorboard_check.py', [out('train/tensorboard')])) as Record<string, [number, number][]>;
    const history = JSON.parse(await readFile(out('train/history'), 'utf8')).epochs as Record<string, number>[];
    for (const tag of ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'learning_rate']) {
      expect(scalars[tag].map(([step]) => step)).toEqual(history.map((e) => e.epoch));
      scalars[tag].forEach(([, value], i) => expect(value).toBeCloseTo(history[i][tag], 5));
    }
  });

  it('NumPy and inkflow agree on .npy/.npz in every dtype, byte order and memory order', async () => {
    const dir = await workspace();
    await mkdir(join(dir, 'np'), { recursive: true });
    await python('numpy_arrays.py', ['write', join(dir, 'np')]);
    const files = (await readdir(join(dir, 'np'))).sort();
    expect(files.length).toBeGreaterThan(30);
    for (const f of files.filter((f) => f.endsWith('.npy') && /^[iuf]\d-/.test(f))) {
      const arr = parseNpy(new Uint8Array(await readFile(join(dir, 'np', f))), f);
      const signed = /^[if]/.test(f);
      expect(arr.shape, f).toEqual([2, 3, 4]);
      expect(Array.from(arr.data as ArrayLike<number>), f).toEqual(Array.from({ length: 24 }, (_, i) => i - (signed ? 12 : 0)));
    }
    expect(parseNpy(new Uint8Array(await readFile(join(dir, 'np', 'U1.npy')))).data).toEqual(['a', 'Z', 'é']);
    expect(Array.from(parseNpy(new Uint8Array(await readFile(join(dir, 'np', 'bool.npy')))).data as Uint8Array)).toEqual([1, 0, 1]);
    expect(Array.from(parseNpy(new Uint8Array(await readFile(join(dir, 'np', 'v3.npy')))).data as Int32Array)).toEqual([0, 1, 2, 3, 4]);
    for (const f of ['plain.npz', 'compressed.npz']) {
      const z = parseNpz(new Uint8Array(await readFile(join(dir, 'np', f))), f);
      expect(Array.from(z.images.data as Uint8Array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(Array.from(z.labels.data as ArrayLike<number>)).toEqual([1, 0]);
    }
    const ours = join(dir, 'ours');
    await mkdir(ours);
    const { writeFile } = await import('node:fs/promises');
    const samples = { 'u8.npy': new Uint8Array([0, 255, 7]), 'i32.npy': new Int32Array([-5, 0, 2 ** 31 - 1]), 'f32.npy': new Float32Array([0.5, -1.25, 3e-8]), 'f64.npy': new Float64Array([Math.PI, -0, 1e300]) };
    for (const [name, data] of Object.entries(samples)) await writeFile(join(ours, name), encodeNpy(data, [3]));
    await writeFile(join(ours, 'mask.npy'), encodeNpy(new Uint8Array([1, 0, 1]), [3], { bool: true }));
    const seen = JSON.parse(await python('numpy_arrays.py', ['check', ours]));
    expect(seen['u8.npy']).toEqual({ dtype: 'uint8', shape: [3], values: [0, 255, 7] });
    expect(seen['i32.npy']).toEqual({ dtype: 'int32', shape: [3], values: [-5, 0, 2 ** 31 - 1] });
    expect(seen['f32.npy'].values).toEqual(Array.from(samples['f32.npy']));
    expect(seen['f64.npy'].values).toEqual([Math.PI, -0, 1e300]);
    expect(seen['mask.npy']).toEqual({ dtype: 'bool', shape: [3], values: [true, false, true] });
    // Artifacts the pipeline wrote load in NumPy too.
    const artifact = JSON.parse(await python('numpy_arrays.py', ['check', out('sample-test/dataset')]));
    expect(artifact['images.npy'].shape).toEqual([520, 28, 28]);
    expect(artifact['mask-balanced800.npy'].dtype).toBe('bool');
  });
});
