import { describe, expect, it } from 'vitest';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { DATA_DIR, encodeNpz, runJson, workspace } from './helpers.js';
import { readDataset } from '../src/data/dataset.js';
import { encodeNpy } from '../src/data/npy.js';
import { frameGlyph, orderStatistics } from '../src/data/framing.js';

const loadPipeline = (params: string) => `name: data\nstages:\n  load:\n    uses: load\n    params: ${params}\n`;

async function loadWith(params: string, files: Record<string, string> = {}) {
  const ws = await workspace({ 'p.yaml': loadPipeline(params), ...files });
  const run = await runJson(ws, ['p.yaml']);
  return { ws, run, dataset: run.summary.ok ? await readDataset(join(ws, 'artifacts/data/load/dataset')) : undefined };
}

async function expectLoadError(ws: string, pattern: RegExp) {
  const run = await runJson(ws, ['p.yaml']);
  expect(run.result.exitCode).toBe(1);
  const failure = run.events.find((e) => e.event === 'stage-end' && e.status === 'failed');
  expect(failure.error).toMatch(pattern);
  expect(failure.error).not.toMatch(/\n\s+at /); // a user error, not a stack trace
  expect(await readdir(join(ws, 'artifacts/objects')).catch(() => [])).toEqual([]);
}

function correlation(a: Float64Array, b: Float64Array): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) ** 2;
    db += (b[i] - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

describe('load', () => {
  it('reads the NIST npz with labels, writers and the balanced800 mask', async () => {
    const { dataset } = await loadWith(`{ path: "${DATA_DIR}/nist-letters-test.npz", classes: abcdefghijklmnopqrstuvwxyz }`);
    expect(dataset!.meta.count).toBe(63059);
    expect(dataset!.meta.classes.join('')).toBe('abcdefghijklmnopqrstuvwxyz');
    expect(dataset!.writers!.length).toBe(63059);
    expect(dataset!.masks.balanced800.reduce((s, v) => s + v, 0)).toBe(20800);
  });

  it('maps 52-class ASCII chars to 26 case-merged classes', async () => {
    const { dataset } = await loadWith(`{ path: "${DATA_DIR}/nist-letters-test.npz", labels_key: chars, labels_are_ascii: true, case_merge: true }`);
    const direct = await loadWith(`{ path: "${DATA_DIR}/nist-letters-test.npz", classes: abcdefghijklmnopqrstuvwxyz }`);
    expect(dataset!.meta.classes.join('')).toBe('abcdefghijklmnopqrstuvwxyz');
    expect(Array.from(dataset!.labels)).toEqual(Array.from(direct.dataset!.labels));
  });

  it('EMNIST CSV comes out upright (transposed from column-major)', async () => {
    const emnist = await loadWith(`{ path: "${DATA_DIR}/emnist-letters-fragment.csv", label_offset: -1, classes: abcdefghijklmnopqrstuvwxyz }`);
    const asStored = await loadWith(`{ path: "${DATA_DIR}/emnist-letters-fragment.csv", label_offset: -1, classes: abcdefghijklmnopqrstuvwxyz, transpose: false }`);
    const nist = await loadWith(`{ path: "${DATA_DIR}/nist-letters-test.npz", classes: abcdefghijklmnopqrstuvwxyz }`);
    expect(emnist.dataset!.meta.count).toBe(799);
    expect(new Set(emnist.dataset!.labels)).toEqual(new Set([0]));
    // EMNIST letters fill the frame and NIST's are small: compare both framed alike.
    const framed = (ds: NonNullable<typeof nist.dataset>, label: number, limit: number) => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < ds.meta.count && out.length < limit; i++) {
        if (ds.labels[i] === label) out.push(frameGlyph({ width: 28, height: 28, data: ds.images.subarray(i * 784, (i + 1) * 784) }));
      }
      return out;
    };
    const mean = (images: Uint8Array[]) => Float64Array.from({ length: 784 }, (_, j) => images.reduce((s, im) => s + im[j], 0) / images.length);
    const classMeans = Array.from({ length: 26 }, (_, c) => mean(framed(nist.dataset!, c, 200)));
    const nearestIsA = (images: Uint8Array[]) => images.filter((im) => {
      const scores = classMeans.map((m) => correlation(Float64Array.from(im), m));
      return scores.indexOf(Math.max(...scores)) === 0;
    }).length / images.length;
    const upright = framed(emnist.dataset!, 0, 799);
    const stored = framed(asStored.dataset!, 0, 799);
    expect(correlation(mean(upright), classMeans[0])).toBeGreaterThan(0.95);
    expect(correlation(mean(upright), classMeans[0])).toBeGreaterThan(correlation(mean(stored), classMeans[0]) + 0.03);
    expect(nearestIsA(upright)).toBeGreaterThan(nearestIsA(stored) + 0.08);
  });

  it('reads EMNIST IDX files, gzipped or not, identically to the CSV', async () => {
    const csv = await loadWith(`{ path: "${DATA_DIR}/emnist-letters-fragment.csv", label_offset: -1, classes: abcdefghijklmnopqrstuvwxyz }`);
    const rows = (await readFile(join(DATA_DIR, 'emnist-letters-fragment.csv'), 'utf8')).trim().split('\n').map((l) => l.split(',').map(Number));
    const images = Buffer.alloc(16 + rows.length * 784);
    images.writeUInt32BE(0x803, 0); images.writeUInt32BE(rows.length, 4); images.writeUInt32BE(28, 8); images.writeUInt32BE(28, 12);
    rows.forEach((r, i) => images.set(r.slice(1), 16 + i * 784));
    const labels = Buffer.alloc(8 + rows.length);
    labels.writeUInt32BE(0x801, 0); labels.writeUInt32BE(rows.length, 4);
    rows.forEach((r, i) => (labels[8 + i] = r[0]));
    for (const gz of [false, true]) {
      const ws = await workspace({ 'p.yaml': loadPipeline(`{ path: imgs-idx3-ubyte${gz ? '.gz' : ''}, labels_path: labels-idx1-ubyte${gz ? '.gz' : ''}, label_offset: -1, classes: abcdefghijklmnopqrstuvwxyz }`) });
      await writeFile(join(ws, `imgs-idx3-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(images) : images);
      await writeFile(join(ws, `labels-idx1-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(labels) : labels);
      expect((await runJson(ws, ['p.yaml'])).summary.ok).toBe(true);
      const idx = await readDataset(join(ws, 'artifacts/data/load/dataset'));
      expect(Buffer.from(idx.images).equals(Buffer.from(csv.dataset!.images))).toBe(true);
    }
  });

  it('reads an image folder of dark-on-light scans as framed light-on-dark 28x28 glyphs', async () => {
    const ws = await workspace({ 'p.yaml': loadPipeline('{ path: scans, include: "^[A-Za-z]$", case_merge: true }') });
    for (const folder of ['upper_A', 'lower_b', 'digit_7']) {
      await mkdir(join(ws, 'scans', folder), { recursive: true });
      for (const f of (await readdir(join(DATA_DIR, 'chars62-scans', folder))).slice(0, 5)) await copyFile(join(DATA_DIR, 'chars62-scans', folder, f), join(ws, 'scans', folder, f));
    }
    expect((await runJson(ws, ['p.yaml'])).summary.ok).toBe(true);
    const ds = await readDataset(join(ws, 'artifacts/data/load/dataset'));
    expect(ds.meta.classes).toEqual(['a', 'b']);
    expect(ds.meta.count).toBe(10);
    expect(ds.meta.sampleShape).toEqual([28, 28]);
    for (let k = 0; k < ds.meta.count; k++) {
      const img = ds.images.subarray(k * 784, (k + 1) * 784);
      expect(img[0]).toBe(0); // background dark after inversion
      expect(Math.max(...img)).toBe(255); // ink at full brightness
    }
  });

  it('downloads by URL from a local server with a SHA-256 check and caches the file', async () => {
    const body = encodeNpz({ images: encodeNpy(new Uint8Array(2 * 4 * 4).fill(7), [2, 4, 4]), labels: encodeNpy(new Int32Array([0, 1]), [2]) });
    let hits = 0;
    const server = createServer((req, res) => {
      hits++;
      if (req.url === '/set.npz') res.end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const sha = createHash('sha256').update(body).digest('hex');
    const cache = { INKFLOW_CACHE_DIR: join(await workspace(), 'cache') };
    try {
      const ok = await workspace({ 'p.yaml': loadPipeline(`{ path: "${url}/set.npz", sha256: ${sha}, classes: xy }`) });
      expect((await runJson(ok, ['p.yaml'], cache)).summary.ok).toBe(true);
      expect((await readDataset(join(ok, 'artifacts/data/load/dataset'))).meta.count).toBe(2);
      const again = await workspace({ 'p.yaml': loadPipeline(`{ path: "${url}/set.npz", sha256: ${sha}, classes: xy, label_offset: 0 }`) });
      expect((await runJson(again, ['p.yaml'], cache)).summary.ok).toBe(true);
      expect(hits).toBe(1);
      const wrong = await workspace({ 'p.yaml': loadPipeline(`{ path: "${url}/set.npz", sha256: "${'0'.repeat(64)}", classes: xy }`) });
      await expectLoadError(wrong, /SHA-256 mismatch/);
      const missing = await workspace({ 'p.yaml': loadPipeline(`{ path: "${url}/nope.npz", classes: xy }`) });
      await expectLoadError(missing, /HTTP 404/);
    } finally {
      server.close();
    }
  });
});

describe('bad input gets a clear error naming the file, and no artifact', () => {
  const npz = (members: Record<string, Uint8Array>) => Buffer.from(encodeNpz(members));
  it.each([
    ['truncated npz', () => npz({ images: encodeNpy(new Uint8Array(16), [1, 4, 4]), labels: encodeNpy(new Int32Array([0]), [1]) }).subarray(0, 60), /bad\.npz: not a readable \.npz/],
    ['counts differ', () => npz({ images: encodeNpy(new Uint8Array(32), [2, 4, 4]), labels: encodeNpy(new Int32Array([0]), [1]) }), /bad\.npz\[labels\]: 2 images but 1 labels/],
    ['NaN pixels', () => npz({ images: encodeNpy(new Float32Array([0, NaN, 0, 0]), [1, 2, 2]), labels: encodeNpy(new Int32Array([0]), [1]) }), /pixel 1 of image 0 is NaN/],
    ['label out of range', () => npz({ images: encodeNpy(new Uint8Array(8), [2, 2, 2]), labels: encodeNpy(new Int32Array([0, 5]), [2]) }), /label 5 \(\+ offset 0\) is out of range for 2 classes/],
    ['wrong shape', () => npz({ images: encodeNpy(new Uint8Array(24), [2, 2, 2, 3]), labels: encodeNpy(new Int32Array([0, 1]), [2]) }), /3 channels; only grayscale/],
    ['missing array', () => npz({ pixels: encodeNpy(new Uint8Array(8), [2, 2, 2]) }), /has no array "images"; arrays: pixels/],
  ])('%s', async (_, make, pattern) => {
    const ws = await workspace({ 'p.yaml': loadPipeline('{ path: bad.npz, classes: xy }') });
    await writeFile(join(ws, 'bad.npz'), make());
    await expectLoadError(ws, pattern);
  });

  it('a truncated .npy names the byte counts', async () => {
    const ws = await workspace({ 'p.yaml': loadPipeline('{ path: x.npy, labels_path: y.npy, classes: xy }') });
    await writeFile(join(ws, 'x.npy'), encodeNpy(new Uint8Array(32), [2, 4, 4]).subarray(0, 140));
    await writeFile(join(ws, 'y.npy'), encodeNpy(new Int32Array([0, 1]), [2]));
    await expectLoadError(ws, /x\.npy: truncated data: header promises 32 bytes, file has 12/);
  });

  it('a CSV error names the line', async () => {
    const ws = await workspace({ 'p.yaml': loadPipeline('{ path: bad.csv }'), 'bad.csv': `1,${Array(784).fill(0).join(',')}\n2,${Array(783).fill(0).join(',')},300\n` });
    await expectLoadError(ws, /bad\.csv:2: pixel 784 is "300", expected 0\.\.255/);
    // Counted as lines of the file: a header row and a blank line come first here.
    const header = ['label', ...Array.from({ length: 784 }, (_, i) => `p${i + 1}`)].join(',');
    const withHeader = await workspace({ 'p.yaml': loadPipeline('{ path: bad.csv }'), 'bad.csv': `${header}\n\n1,${Array(784).fill(0).join(',')}\n2,x,${Array(783).fill(0).join(',')}\n` });
    await expectLoadError(withHeader, /bad\.csv:4: pixel 1 is "x", expected 0\.\.255/);
  });

  it('empty class folders and undecodable images are named', async () => {
    const ws = await workspace({ 'p.yaml': loadPipeline('{ path: scans }') });
    await mkdir(join(ws, 'scans', 'a'), { recursive: true });
    await expectLoadError(ws, /scans\/a: class folder has no PNG or JPEG images/);
    await writeFile(join(ws, 'scans', 'a', 'x.png'), 'not a png');
    await expectLoadError(ws, /scans\/a\/x\.png: not a decodable image/);
  });

  it('a missing data file says which path and what to check', async () => {
    const ws = await workspace({ 'p.yaml': loadPipeline('{ path: nowhere.npz }') });
    await expectLoadError(ws, /stage "load": data path not found: nowhere\.npz/);
  });
});


describe('balanced sampling', () => {
  it('draws every class about equally often from skewed labels, reproducibly', async () => {
    const { balancedDraw, samplesByClass } = await import('../src/ml/batches.js');
    const { rng } = await import('../src/util/random.js');
    // Class 0 has 900 samples, class 1 has 90, class 2 has 10.
    const labels = Int32Array.from({ length: 1000 }, (_, i) => (i < 900 ? 0 : i < 990 ? 1 : 2));
    const byClass = samplesByClass(labels, 3);
    const order = new Int32Array(30000);
    balancedDraw(order, byClass, rng(7));
    const counts = [0, 0, 0];
    for (const i of order) counts[labels[i]]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
    const again = new Int32Array(30000);
    balancedDraw(again, byClass, rng(7));
    expect(again).toEqual(order);
  });
});

describe('orderStatistics', () => {
  it('finds the exact k-th value and maximum that sorting finds, on paper-like and continuous images', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const paperLike = Float32Array.from({ length: 5001 }, () => (random() < 0.7 ? 0 : Math.round(random() * 255)));
    const continuous = Float32Array.from({ length: 4000 }, () => random() * 255);
    const nearIntegers = Float32Array.from({ length: 3000 }, () => Math.round(random() * 3) + (random() - 0.5) * 1e-4);
    for (const values of [paperLike, continuous, nearIntegers, Float32Array.of(255, 255, 0)]) {
      const sorted = Float32Array.from(values).sort();
      for (const k of [0, values.length >> 1, values.length - 1]) {
        expect(orderStatistics(values, k)).toEqual({ kth: sorted[k], max: sorted[sorted.length - 1] });
      }
    }
  });
});
