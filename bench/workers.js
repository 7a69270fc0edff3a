#!/usr/bin/env node
// `node --import tsx bench/workers.js [overhead] [sweep]`: distributed execution on this machine, with a redis-server of its own
// on a free loopback port (the tests' test/servers/redis.ts) and `inkflow worker` processes. Prints one JSON line of measures (bench/run.js reads it).
//   overhead: the cost BullMQ adds per stage against in-process, from chains of trivial fixture stages: the slope
//             between a short and a long chain, so process start and connecting are not counted per stage.
//   sweep:    a 4-variant quick.yaml sweep (`exp run --jobs 4 --executor bullmq`) on 1 worker and on 2 workers.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../test/servers/redis.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'inkflow.js');
const DATA = process.env.INKFLOW_DATA_DIR ?? join(ROOT, '..', 'shared', 'data');
const parts = process.argv.slice(2).length ? process.argv.slice(2) : ['overhead', 'sweep'];
const env = { ...process.env, INKFLOW_DATA_DIR: DATA, CI: '1' };
const log = (m) => process.stderr.write(`[bench workers] ${m}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function run(args, cwd) {
  const t = process.hrtime.bigint();
  const r = spawnSync('node', [CLI, ...args], { cwd, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`inkflow ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** Every worker started, so a failing measure still stops them all. */
const children = [];

/** Starts `inkflow worker` in `cwd` and resolves once it says it is ready. */
function startWorker(cwd, url) {
  const child = spawn('node', [CLI, 'worker', '--redis', url], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (/ready/.test(out)) resolve({ stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGKILL'); }) });
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${out}`)));
  });
}

const redis = await startRedis();
const result = {};
try {
  if (parts.includes('overhead')) {
    const ws = mkdtempSync(join(tmpdir(), 'inkflow-workers-bench-'));
    cpSync(join(ROOT, 'test', 'fixtures', 'stages'), join(ws, 'stages'), { recursive: true });
    mkdirSync(join(ws, 'node_modules'));
    symlinkSync(ROOT, join(ws, 'node_modules', 'inkflow'), 'dir');
    const chain = (n) => {
      const lines = ['name: chain', 'stages:'];
      for (let i = 0; i < n; i++) lines.push(`  s${i}:`, '    uses: ./stages/emit.ts', `    params: { text: "${i}" }`, ...(i ? [`    inputs: { upstream: s${i - 1}.text }`] : []));
      writeFileSync(join(ws, `chain${n}.yaml`), lines.join('\n') + '\n');
      return `chain${n}.yaml`;
    };
    const [short, long] = [5, 25];
    const worker = await startWorker(ws, redis.url);
    const times = {};
    for (const n of [short, long]) {
      const file = chain(n);
      run(['run', file, '--executor', 'bullmq', '--redis', redis.url, '--force', '--plain'], ws); // warm: the worker loads the stage module once
      times[`local${n}`] = median(Array.from({ length: 7 }, () => run(['run', file, '--force', '--plain'], ws)));
      times[`queue${n}`] = median(Array.from({ length: 7 }, () => run(['run', file, '--executor', 'bullmq', '--redis', redis.url, '--force', '--plain'], ws)));
      log(`chain of ${n}: in-process ${times[`local${n}`].toFixed(2)} s, through BullMQ ${times[`queue${n}`].toFixed(2)} s`);
    }
    await worker.stop();
    const perStage = (n) => ({ local: times[`local${n}`] / n, queue: times[`queue${n}`] / n });
    result.dispatch_overhead_ms = (((times[`queue${long}`] - times[`queue${short}`]) - (times[`local${long}`] - times[`local${short}`])) / (long - short)) * 1000;
    result.dispatch_times = times;
    result.dispatch_chain = { short, long, perStage: { [short]: perStage(short), [long]: perStage(long) } };
  }
  if (parts.includes('sweep')) {
    const rates = ['3e-4', '1e-3', '3e-3', '1e-2'];
    for (const count of [1, 2]) {
      const ws = mkdtempSync(join(tmpdir(), 'inkflow-workers-sweep-'));
      cpSync(join(ROOT, 'pipelines'), join(ws, 'pipelines'), { recursive: true });
      const workers = [];
      for (let i = 0; i < count; i++) workers.push(await startWorker(ws, redis.url));
      log(`quick.yaml, 4 learning rates, on ${count} worker(s) in ${ws}`);
      result[`sweep_${count}_worker_seconds`] = run(['exp', 'run', 'pipelines/quick.yaml', '--set', `train.learning_rate=${rates.join(',')}`, '--jobs', '4', '--executor', 'bullmq', '--redis', redis.url], ws);
      log(`${count} worker(s): ${result[`sweep_${count}_worker_seconds`].toFixed(1)} s`);
      await Promise.all(workers.map((w) => w.stop()));
    }
  }
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await redis.stop();
}
process.stdout.write(JSON.stringify(result) + '\n');
