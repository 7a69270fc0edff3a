import { describe, expect, it } from 'vitest';
import { appendFile, chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, DATA_DIR, FIXTURES, inkflow, ROOT, runJson, workspace } from '../helpers.js';

const DEMO = `name: demo
stages:
  a: { uses: ./stages/emit.ts, params: { text: a } }
  b: { uses: ./stages/emit.ts, inputs: { upstream: a.text }, params: { text: b } }
  c: { uses: ./stages/emit.ts, params: { text: c, data: data.txt } }
  d: { uses: ./stages/emit.ts, inputs: { upstream: b.text, other: c.text }, params: { text: d } }
`;
const demo = () => workspace({ 'p.yaml': DEMO, 'data.txt': 'v1\n' });

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function expectVerifyClean(ws: string): Promise<void> {
  const verify = await inkflow(ws, ['verify']);
  expect(verify.stdout).toMatch(/artifacts verified, no corruption/);
  expect(verify.exitCode).toBe(0);
}

const objectFile = (ws: string, key: string, ...rest: string[]) => join(ws, 'artifacts/objects', key.slice(0, 2), key, ...rest);

/** Flips bytes in place, as a disk error or a stray write would: same size, new content, new mtime. */
async function flipBytes(path: string, at = 0): Promise<void> {
  const bytes = await readFile(path);
  bytes[at] ^= 0xff;
  await writeFile(path, bytes);
}

/** A process is gone when signalling it fails or it is a zombie nobody reaped yet. */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !stat || / Z /.test(stat.slice(stat.lastIndexOf(')')));
}

describe('kill -9 at several points never leaves anything trusted', () => {
  it.each([
    ['while the first stage writes its output', 'a: { uses: ./stages/emit.ts, params: { text: a, partial_then_hang: true } }\n  b: { uses: ./stages/emit.ts, inputs: { upstream: a.text } }', (ws: string) => readdir(join(ws, 'artifacts/tmp')).then((e) => e.length > 0, () => false), 0],
    ['after one stage is published, while the next runs', 'a: { uses: ./stages/emit.ts, params: { text: a } }\n  b: { uses: ./stages/emit.ts, inputs: { upstream: a.text }, params: { delay_ms: 60000 } }', (ws: string) => existsSync(join(ws, 'artifacts/kill/a')), 1],
  ] as const)('%s', async (_, stages, ready, published) => {
    const ws = await workspace({ 'p.yaml': `name: kill\nstages:\n  ${stages}\n` });
    const child = execa('node', [CLI, 'run', 'p.yaml', '--json'], { cwd: ws, reject: false });
    await waitFor(() => ready(ws));
    child.kill('SIGKILL');
    const killed = await child;
    expect(killed.signal, killed.all ?? killed.stderr).toBe('SIGKILL');
    const objects = (await readdir(join(ws, 'artifacts/objects')).catch(() => [])).length;
    expect(objects).toBe(published);
    await expectVerifyClean(ws);
    // The killed run's lease is stale: gc runs, and keeps nothing it should not (no record references anything yet).
    const gc = await inkflow(ws, ['gc']);
    expect(gc.exitCode).toBe(0);
    expect(await readdir(join(ws, 'artifacts/leases')).catch(() => [])).toEqual([]);
    await writeFile(join(ws, 'p.yaml'), 'name: kill\nstages:\n  a: { uses: ./stages/emit.ts, params: { text: a } }\n  b: { uses: ./stages/emit.ts, inputs: { upstream: a.text } }\n');
    const rerun = await runJson(ws, ['p.yaml']);
    expect(rerun.result.exitCode).toBe(0);
    await expectVerifyClean(ws);
  });

  it('kill -9 during gc leaves a consistent store that the next gc and run repair', async () => {
    const ws = await demo();
    for (let i = 0; i < 4; i++) await runJson(ws, ['p.yaml', '--set', `a.text=v${i}`]);
    const gc = execa('node', [CLI, 'gc', '--keep', '1'], { cwd: ws, reject: false });
    await new Promise((r) => setTimeout(r, 400));
    gc.kill('SIGKILL');
    await gc;
    await expectVerifyClean(ws);
    expect((await inkflow(ws, ['gc', '--keep', '1'])).exitCode).toBe(0);
    const last = await runJson(ws, ['p.yaml', '--set', 'a.text=v3']);
    expect(last.statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
    await expectVerifyClean(ws);
  });
});

describe('processes: a stage and everything it started stop together', () => {
  const GRANDCHILDREN = `sleep 45 & echo $! > "$0"; sleep 46 & echo $! >> "$0"; wait`;

  it('a shell timeout kills the whole process group, grandchildren included, at once', async () => {
    const ws = await workspace({ 'p.yaml': `name: sh\nstages:\n  slow:\n    uses: shell\n    params: { command: [sh, -c, '${GRANDCHILDREN}', '{{workspace}}/pids'], timeout_seconds: 2 }\n` });
    const started = Date.now();
    const run = await runJson(ws, ['p.yaml']);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(run.result.exitCode).toBe(1);
    expect(run.events.find((e) => e.event === 'stage-end' && e.status === 'failed').error).toContain('shell: sh timed out after 2s; it and every process it started were stopped');
    const pids = (await readFile(join(ws, 'pids'), 'utf8')).trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    await waitFor(() => pids.every(isGone), 5000);
    await expectVerifyClean(ws);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s to inkflow stops the stage and its grandchildren, exits 130, records the run', async (signal) => {
    const ws = await workspace({ 'p.yaml': `name: sh\nstages:\n  slow:\n    uses: shell\n    params: { command: [sh, -c, '${GRANDCHILDREN}', '{{workspace}}/pids'] }\n` });
    const child = execa('node', [CLI, 'run', 'p.yaml', '--json'], { cwd: ws, reject: false });
    await waitFor(async () => (await readFile(join(ws, 'pids'), 'utf8').catch(() => '')).trim().split('\n').length === 2);
    const pids = (await readFile(join(ws, 'pids'), 'utf8')).trim().split('\n').map(Number);
    const sent = Date.now();
    child.kill(signal);
    const r = await child;
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(r.exitCode).toBe(130);
    await waitFor(() => pids.every(isGone), 5000);
    const [runId] = await readdir(join(ws, 'logs/runs'));
    expect(JSON.parse(await readFile(join(ws, 'logs/runs', runId, 'run.json'), 'utf8')).cancelled).toBe(true);
    expect(await readdir(join(ws, 'artifacts/tmp'))).toEqual([]);
    await expectVerifyClean(ws);
  });
});

describe('gc keeps what is needed', () => {
  it('failed runs never push a successful run out of --keep', async () => {
    const ws = await demo();
    expect((await runJson(ws, ['p.yaml'])).result.exitCode).toBe(0);
    for (let i = 0; i < 6; i++) expect((await runJson(ws, ['p.yaml', '--set', `d.fail=true`, '--set', `d.text=f${i}`])).result.exitCode).toBe(1);
    const gc = await inkflow(ws, ['gc', '--keep', '1']);
    expect(gc.exitCode).toBe(0);
    expect((await runJson(ws, ['p.yaml'])).statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
    await expectVerifyClean(ws);
  });

  it('gc during a run never removes what the run made or uses', async () => {
    const ws = await workspace({ 'p.yaml': 'name: live\nstages:\n  a: { uses: ./stages/emit.ts, params: { text: a } }\n  b: { uses: ./stages/emit.ts, inputs: { upstream: a.text }, params: { delay_ms: 4000 } }\n' });
    const run = execa('node', [CLI, 'run', 'p.yaml', '--json'], { cwd: ws, reject: false });
    await waitFor(() => existsSync(join(ws, 'artifacts/live/a')));
    // No run record references anything yet: without the lease, gc would remove a.
    for (let i = 0; i < 3; i++) {
      const gc = await inkflow(ws, ['gc', '--keep', '1']);
      expect(gc.exitCode).toBe(0);
      expect(gc.stdout).toMatch(/removed 0 artifact\(s\)/);
    }
    const r = await run;
    expect(r.exitCode).toBe(0);
    expect(await readFile(join(ws, 'artifacts/live/b/text'), 'utf8')).toContain('+a');
    await expectVerifyClean(ws);
    expect((await runJson(ws, ['p.yaml'])).statuses).toEqual({ a: 'cached', b: 'cached' });
  });

  it('concurrent runs and gc loops leave a verified store and reusable results', async () => {
    const ws = await demo();
    const runs = Promise.all([0, 1, 2].map((i) => runJson(ws, ['p.yaml', '--set', `a.text=r${i % 2}`])));
    let gcs = 0;
    let done = false;
    void runs.finally(() => { done = true; });
    while (!done) {
      expect((await inkflow(ws, ['gc', '--keep', '1'])).exitCode).toBe(0);
      gcs++;
    }
    const finished = await runs;
    for (const r of finished) expect(r.result.exitCode).toBe(0);
    expect(gcs).toBeGreaterThan(0);
    await expectVerifyClean(ws);
    // --keep 1 keeps the newest run (by start): its results are all still there.
    const newest = finished.map((r, i) => ({ id: r.summary.runId, text: `r${i % 2}` })).sort((x, y) => x.id.localeCompare(y.id)).pop()!;
    expect((await runJson(ws, ['p.yaml', '--set', `a.text=${newest.text}`])).statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
  });

  it.each([['abc'], ['-1'], ['1.5'], ['']])('--keep %j is refused and removes nothing', async (keep) => {
    const ws = await demo();
    await runJson(ws, ['p.yaml']);
    const gc = await inkflow(ws, ['gc', `--keep=${keep}`]);
    expect(gc.exitCode).toBe(2);
    expect(gc.stderr).toContain(`gc: --keep must be a whole number 0 or more, got "${keep}"`);
    expect((await runJson(ws, ['p.yaml'])).statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
  });

  it('--dry-run removes nothing; promoted and pinned runs are kept whatever --keep says', async () => {
    const ws = await demo();
    const promoted = await runJson(ws, ['p.yaml', '--set', 'a.text=promoted']);
    const pinned = await runJson(ws, ['p.yaml', '--set', 'a.text=pinned']);
    for (let i = 0; i < 3; i++) await runJson(ws, ['p.yaml', '--set', `a.text=later${i}`]);
    const record = await readFile(join(ws, 'logs/runs', promoted.summary.runId, 'run.json'));
    await mkdir(join(ws, 'models/letters/v1'), { recursive: true });
    await writeFile(join(ws, 'models/letters/v1/run.json'), record);
    await writeFile(join(ws, 'logs/runs', pinned.summary.runId, 'pinned'), '');
    const dry = await inkflow(ws, ['gc', '--keep', '1', '--dry-run']);
    expect(dry.stdout).toMatch(/would remove [1-9]\d* artifact/);
    expect(dry.stdout).toContain('2 promoted or pinned');
    const before = (await readdir(join(ws, 'artifacts/objects'), { recursive: true })).length;
    expect(before).toBeGreaterThan(0);
    const gc = await inkflow(ws, ['gc', '--keep', '1']);
    expect(gc.exitCode).toBe(0);
    for (const text of ['promoted', 'pinned', 'later2']) {
      expect((await runJson(ws, ['p.yaml', '--set', `a.text=${text}`])).statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
    }
    expect((await runJson(ws, ['p.yaml', '--set', 'a.text=later0'])).statuses.a).toBe('ran');
    await expectVerifyClean(ws);
  });
});

describe('corrupted objects are never trusted and get replaced', () => {
  it('a changed output is a cache miss: the stage reruns, replaces the object, and downstream stays cached', async () => {
    const ws = await demo();
    const first = await runJson(ws, ['p.yaml']);
    const key = first.summary.stages.b.key;
    await flipBytes(objectFile(ws, key, 'out/text'));
    expect((await inkflow(ws, ['verify'])).exitCode).toBe(1);
    const status = await inkflow(ws, ['status', 'p.yaml']);
    expect(status.stdout).toMatch(/b\s+stale[\s\S]*cached result is damaged and will be rebuilt: text\/\. is corrupt/);
    const second = await runJson(ws, ['p.yaml']);
    expect(second.statuses).toEqual({ a: 'cached', b: 'ran', c: 'cached', d: 'cached' });
    expect(second.events.find((e) => e.event === 'stage-log' && e.stage === 'b').message).toContain(`cached result ${key.slice(0, 12)} is damaged and will not be used`);
    expect(await readFile(join(ws, 'artifacts/demo/b/text'), 'utf8')).toBe('b+a!!');
    await expectVerifyClean(ws);
  });

  it('published outputs are read-only, so the human link is no way to write into the store', async () => {
    const ws = await demo();
    const { summary } = await runJson(ws, ['p.yaml']);
    const out = objectFile(ws, summary.stages.b.key, 'out');
    expect((await stat(join(out, 'text'))).mode & 0o222).toBe(0);
    expect((await stat(out)).mode & 0o222).toBe(0);
    expect((await stat(objectFile(ws, summary.stages.b.key, 'manifest.json'))).mode & 0o222).toBe(0);
    // root ignores permissions: a write through the link is then caught by the size check and rebuilt.
    await appendFile(join(ws, 'artifacts/demo/b/text'), 'tampered');
    expect((await runJson(ws, ['p.yaml'])).statuses.b).toBe('ran');
    await expectVerifyClean(ws);
  });

  it('a forced rerun replaces a corrupt object even when its stamp was put back; --verify-cache catches it too', async () => {
    const ws = await demo();
    const { summary } = await runJson(ws, ['p.yaml']);
    const file = objectFile(ws, summary.stages.b.key, 'out/text');
    const { mtimeNs } = await stat(file, { bigint: true });
    // Puts the modification time back to the nanosecond, as a careful attacker (or a restore tool) would.
    const putStampBack = () => execa('touch', ['-d', `@${mtimeNs / 1_000_000_000n}.${String(mtimeNs % 1_000_000_000n).padStart(9, '0')}`, file]);
    await flipBytes(file);
    await putStampBack();
    expect((await runJson(ws, ['p.yaml'])).statuses.b).toBe('cached'); // the cheap check cannot see it…
    const checked = await runJson(ws, ['p.yaml', '--verify-cache']);
    expect(checked.statuses).toEqual({ a: 'cached', b: 'ran', c: 'cached', d: 'cached' }); // …re-hashing does
    await expectVerifyClean(ws);
    await flipBytes(file);
    await putStampBack();
    const forced = await runJson(ws, ['p.yaml', '--from', 'b']);
    expect(forced.statuses).toEqual({ a: 'cached', b: 'ran', c: 'cached', d: 'ran' });
    expect(await readFile(join(ws, 'artifacts/demo/b/text'), 'utf8')).toBe('b+a!!');
    await expectVerifyClean(ws);
  });

  it('verify --repair removes damaged objects and rebuilds them by rerunning the pipeline', async () => {
    const ws = await demo();
    const { summary } = await runJson(ws, ['p.yaml']);
    await flipBytes(objectFile(ws, summary.stages.a.key, 'out/text'));
    await writeFile(objectFile(ws, summary.stages.c.key, 'out/extra.txt'), 'added').catch(() => undefined);
    const verify = await inkflow(ws, ['verify']);
    expect(verify.exitCode).toBe(1);
    expect(verify.stdout).toMatch(/demo\/a: text\/\. is corrupt \(content changed since it was written\) \(.*objects.*out\/text\)/);
    const repair = await inkflow(ws, ['verify', '--repair']);
    expect(repair.exitCode).toBe(0);
    expect(repair.stdout).toContain('removed 1 damaged artifact(s)');
    expect(repair.stdout).toMatch(/rebuilding: inkflow run .*p\.yaml/);
    expect(repair.stdout).toMatch(/\d+ artifacts verified, no corruption/);
    expect(await readFile(join(ws, 'artifacts/demo/a/text'), 'utf8')).toBe('a!');
    await expectVerifyClean(ws);
  });

  it('a shell stage that appends to its input fails, naming it, and the next run rebuilds the damaged upstream', async () => {
    const ws = await workspace({
      'p.yaml': `name: sh
stages:
  up:
    uses: shell
    params: { command: [sh, -c, 'echo up > "$0"', '{{out.x}}'], outputs: [x] }
  down:
    uses: shell
    inputs: { x: up.x }
    params: { command: [sh, -c, 'echo more >> "$0"', '{{in.x}}'] }
`,
    });
    const run = await runJson(ws, ['p.yaml']);
    expect(run.result.exitCode).toBe(1);
    const error = run.events.find((e) => e.event === 'stage-end' && e.status === 'failed').error;
    expect(error).toMatch(/stage "down" changed its inputs, which belong to the artifact store: input "x" .*objects.*out\/x is corrupt \(changed size: 3 -> 8 bytes\)/);
    const fixed = await runJson(ws, ['p.yaml', '--set', 'down.command=[cat, "{{in.x}}"]']);
    expect(fixed.statuses).toEqual({ up: 'ran', down: 'ran' });
    expect(await readFile(join(ws, 'artifacts/sh/up/x'), 'utf8')).toBe('up\n');
    await expectVerifyClean(ws);
  });
});

describe('damaged metadata is a named, recoverable cache miss', () => {
  it('a truncated manifest.json: verify names it, status/gc work, run and --force rebuild it', async () => {
    const ws = await demo();
    const { summary } = await runJson(ws, ['p.yaml']);
    const manifest = objectFile(ws, summary.stages.b.key, 'manifest.json');
    await chmod(manifest, 0o644);
    await writeFile(manifest, (await readFile(manifest, 'utf8')).slice(0, 100));
    const verify = await inkflow(ws, ['verify']);
    expect(verify.exitCode).toBe(1);
    expect(verify.stdout).toContain(`${manifest} is damaged (not valid JSON`);
    const status = await inkflow(ws, ['status', 'p.yaml']);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toMatch(/b\s+stale[\s\S]*manifest\.json is damaged/);
    expect((await inkflow(ws, ['gc'])).exitCode).toBe(0);
    const forced = await runJson(ws, ['p.yaml', '--force']);
    expect(forced.result.exitCode).toBe(0);
    await expectVerifyClean(ws);
    await writeFile(manifest, '');
    expect((await runJson(ws, ['p.yaml'])).statuses).toEqual({ a: 'cached', b: 'ran', c: 'cached', d: 'cached' });
    await expectVerifyClean(ws);
  });

  it('a truncated run.json is skipped with a warning naming it by runs, status, gc and runs diff', async () => {
    const ws = await demo();
    const first = await runJson(ws, ['p.yaml']);
    await runJson(ws, ['p.yaml', '--set', 'a.text=x']);
    const record = join(ws, 'logs/runs', first.summary.runId, 'run.json');
    await writeFile(record, '{"runId": "');
    // status and gc read every record: they name the damaged one and go on.
    for (const args of [['status', 'p.yaml'], ['gc']]) {
      const r = await inkflow(ws, args);
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toContain(`warning: ${record} is damaged`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // The run table reads the runs index, and diff only the records it compares: neither trips over it.
    for (const args of [['runs'], ['runs', 'diff', 'latest', 'latest']]) {
      const r = await inkflow(ws, args);
      expect(r.exitCode).toBe(0);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    await expectVerifyClean(ws);
  });

  it('a truncated file-digests.json only costs a re-hash', async () => {
    const ws = await demo();
    await runJson(ws, ['p.yaml']);
    await writeFile(join(ws, 'artifacts/file-digests.json'), '{"/x": {"size": 1');
    expect((await inkflow(ws, ['status', 'p.yaml'])).stdout).toContain('everything is cached');
    expect((await runJson(ws, ['p.yaml'])).statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
    JSON.parse(await readFile(join(ws, 'artifacts/file-digests.json'), 'utf8'));
    await expectVerifyClean(ws);
  });
});

describe('output and model files', () => {
  it('run --json | head -1 ends quietly', async () => {
    const ws = await demo();
    const r = await execa('bash', ['-c', `node ${CLI} run p.yaml --json 2>err.txt | head -1; echo "rc=\${PIPESTATUS[0]}"`], { cwd: ws, reject: false });
    expect(r.stdout).toMatch(/"event":"run-start"/);
    expect(r.stdout).toMatch(/rc=0$/);
    expect(await readFile(join(ws, 'err.txt'), 'utf8')).not.toMatch(/EPIPE|\n\s+at /);
    await expectVerifyClean(ws);
  });

  it('garbage .h5, broken model.json and broken labels give one line naming the file', async () => {
    const ws = await workspace({ 'crop.png': '' });
    await cp(join(DATA_DIR, 'chars62-scans'), join(ws, 'scans'), { recursive: true, filter: (src) => !/\.png$/.test(src) || /\/[^/]*0\.png$/.test(src) }).catch(() => undefined);
    const image = (await readdir(join(ws, 'scans'), { recursive: true })).map(String).find((f) => f.endsWith('.png'));
    const crop = image ? join('scans', image) : 'crop.png';
    await writeFile(join(ws, 'garbage.h5'), Buffer.alloc(4096, 7));
    const h5wasm = (await import('h5wasm/node')).default;
    await h5wasm.ready;
    const h5 = new h5wasm.File(join(ws, 'whole.h5'), 'w');
    h5.create_dataset({ name: 'weights', data: new Float32Array(20000), shape: [20000], dtype: '<f' });
    h5.close();
    await writeFile(join(ws, 'truncated.h5'), (await readFile(join(ws, 'whole.h5'))).subarray(0, 3000));
    await mkdir(join(ws, 'broken'));
    await writeFile(join(ws, 'broken/model.json'), '{"modelTopology": {"class_name": "Sequ');
    await mkdir(join(ws, 'empty-folder'));
    const cases: [string[], RegExp][] = [
      [['predict', '--model', 'garbage.h5', crop], /^inkflow: garbage\.h5: not an HDF5 file \(no HDF5 signature\)/],
      [['predict', '--model', 'truncated.h5', crop], /^inkflow: truncated\.h5: truncated: the file is 3000 bytes, its HDF5 header says \d+; copy or download it again$/],
      [['predict', '--model', 'broken', crop], /^inkflow: .*broken\/model\.json is damaged \(not valid JSON/],
      [['read', '--model', 'garbage.h5', 'empty-folder'], /^inkflow: read: no PNG or JPEG images in empty-folder/],
    ];
    for (const [args, pattern] of cases) {
      const r = await inkflow(ws, args);
      expect(r.exitCode).toBeGreaterThan(0);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    // Labels are read after the model: a real model from a tiny pipeline, then a broken labels file.
    await writeFile(join(ws, 'labels.json'), '{"0": "a", "1":');
    const tf = await import('@tensorflow/tfjs');
    const { saveModel } = await import('../../dist/src/ml/model-io.js');
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.dense({ units: 26, activation: 'softmax' })] });
    await saveModel(tf as never, model, join(ws, 'tiny'));
    const labels = await inkflow(ws, ['predict', '--model', 'tiny', '--labels', 'labels.json', crop], { INKFLOW_BACKEND: 'cpu' });
    expect(labels.exitCode).toBe(1);
    expect(labels.stderr).toMatch(/^inkflow: labels\.json is damaged \(not valid JSON.*expected JSON like \{"0": "a", "1": "b"\}$/m);
    expect(labels.stderr.trim().split('\n')).toHaveLength(1);
  });
});

const canMount = process.getuid?.() === 0 && process.platform === 'linux';

describe.skipIf(!canMount)('a full disk (5 MB tmpfs)', () => {
  async function onTmpfs<T>(fn: (ws: string) => Promise<T>): Promise<T> {
    const mount = await mkdtemp(join(tmpdir(), 'inkflow-full-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=5m', 'tmpfs', mount]);
    try {
      await cp(join(FIXTURES, 'stages'), join(mount, 'stages'), { recursive: true });
      // The fixture stages import inkflow as an installed project would.
      await mkdir(join(mount, 'node_modules'));
      await symlink(ROOT, join(mount, 'node_modules', 'inkflow'), 'dir');
      await writeFile(join(mount, 'stages/big.ts'), `import { statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  description: 'writes bytes', version: 1,
  paramsSchema: { type: 'object', properties: { megabytes: { type: 'number', default: 8 }, leave_pages: { type: 'integer' }, text: { type: 'string' } } },
  inputs: {}, outputs: ['blob'],
  async run(ctx: any) {
    writeFileSync(ctx.output('blob'), Buffer.alloc(ctx.params.leave_pages === undefined ? ctx.params.megabytes * 1e6 : 10, 1));
    if (ctx.params.leave_pages !== undefined) {
      const fs = statfsSync(ctx.workspace);
      writeFileSync(join(ctx.workspace, 'filler.bin'), Buffer.alloc(Math.max(0, (fs.bavail - ctx.params.leave_pages) * fs.bsize)));
    }
  },
};
`);
      return await fn(mount);
    } finally {
      await execa('umount', [mount]).catch(() => execa('umount', ['-l', mount]));
      await rm(mount, { recursive: true, force: true });
    }
  }

  const tornFiles = async (ws: string) => (await readdir(ws, { recursive: true })).map(String).filter((f) => /\.tmp$/.test(f));

  it('a stage that fills the disk fails with the path, leaves no staging or temp file, and the store verifies', async () => {
    await onTmpfs(async (ws) => {
      await writeFile(join(ws, 'p.yaml'), 'name: full\nstages:\n  small: { uses: ./stages/emit.ts, params: { text: ok } }\n  big: { uses: ./stages/big.ts, inputs: {}, params: { megabytes: 8 } }\n');
      const run = await runJson(ws, ['p.yaml', '--concurrency', '1']);
      expect(run.result.exitCode).toBe(1);
      expect(run.statuses.small).toBe('ran');
      const error = run.events.find((e) => e.event === 'stage-end' && e.status === 'failed').error;
      expect(error).toMatch(/^stage "big": no space left on the device holding .*artifacts\/tmp\/[0-9a-f]{64}\.[^ ]+; free some space/);
      expect(error).not.toMatch(/\n\s+at /);
      expect(await readdir(join(ws, 'artifacts/tmp'))).toEqual([]);
      expect(await tornFiles(ws)).toEqual([]);
      await expectVerifyClean(ws);
      expect((await runJson(ws, ['p.yaml', '--set', 'big.megabytes=1'])).statuses).toEqual({ small: 'cached', big: 'ran' });
    });
  });

  it('a full disk when the run record is written: a named error, no torn file, results reusable after', async () => {
    await onTmpfs(async (ws) => {
      // A cached stage with long params makes the run record several pages long.
      const long = 'x'.repeat(12000);
      await writeFile(join(ws, 'p.yaml'), `name: full\nstages:\n  wordy: { uses: ./stages/emit.ts, params: { text: ${long} } }\n`);
      expect((await runJson(ws, ['p.yaml'])).result.exitCode).toBe(0);
      await writeFile(join(ws, 'p.yaml'), `name: full\nstages:\n  wordy: { uses: ./stages/emit.ts, params: { text: ${long} } }\n  fill: { uses: ./stages/big.ts, params: { leave_pages: 1 } }\n`);
      const run = await runJson(ws, ['p.yaml']);
      expect(run.statuses).toEqual({ wordy: 'cached', fill: 'ran' });
      expect(run.result.exitCode).toBe(1);
      expect(run.summary.ok).toBe(false);
      expect(run.result.stderr).toMatch(/inkflow: could not write the run record: no space left on the device holding .*logs\/runs\/.*\/run\.json; free some space/);
      expect(await tornFiles(ws)).toEqual([]);
      await expectVerifyClean(ws);
      await rm(join(ws, 'filler.bin'));
      const after = await runJson(ws, ['p.yaml']);
      expect(after.statuses).toEqual({ wordy: 'cached', fill: 'cached' });
      expect(after.result.exitCode).toBe(0);
    });
  });
});
