// The stand-in for Emscripten's pthread pool workers (src/ml/wasm-threads.ts), on real worker threads
// that speak the pthread worker's protocol: "load" is answered with "loaded" once loading is done,
// and "run" before that is an error.
import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PoolWorker } from '../src/ml/wasm-threads.js';

const PTHREAD_LIKE = `
const { parentPort } = require('node:worker_threads');
let loaded = false;
parentPort.on('message', (m) => {
  if (m.cmd === 'load') setTimeout(() => { loaded = true; parentPort.postMessage({ cmd: 'loaded', script: m.urlOrBlob }); }, 100);
  else if (m.cmd === 'run') parentPort.postMessage(loaded ? { cmd: 'ran', arg: m.arg } : { cmd: 'run-before-load' });
});
`;

async function pool(startsAtLoad: boolean) {
  const file = join(await mkdtemp(join(tmpdir(), 'inkflow-pool-')), 'pthread-like.cjs');
  await writeFile(file, PTHREAD_LIKE);
  const started: Worker[] = [];
  const worker = new PoolWorker(() => { const w = new Worker(file); started.push(w); return w; }, '/the/main/script.js', () => startsAtLoad);
  const messages: { cmd: string; arg?: number; script?: string }[] = [];
  worker.on('message', (m) => messages.push(m));
  const until = async (count: number) => { while (messages.length < count) await new Promise((r) => setTimeout(r, 10)); };
  return { worker, started, messages, until };
}

describe('PoolWorker', () => {
  it('loads a worker XNNPACK runs on at once, on a thread, with the script as a file', async () => {
    const { worker, started, messages, until } = await pool(true);
    worker.postMessage({ cmd: 'load', urlOrBlob: new Blob(['x']) });
    expect(started).toHaveLength(1);
    await until(1);
    expect(messages).toEqual([{ cmd: 'loaded', script: '/the/main/script.js' }]);
    worker.postMessage({ cmd: 'run', arg: 1 });
    await until(2);
    expect(messages[1]).toEqual({ cmd: 'ran', arg: 1 });
    await worker.terminate();
  });

  it('answers "loaded" for a stand-by worker without a thread, and starts one only when a pthread runs on it', async () => {
    const { worker, started, messages, until } = await pool(false);
    worker.postMessage({ cmd: 'load', urlOrBlob: '/given.js' });
    await until(1);
    expect(messages).toEqual([{ cmd: 'loaded' }]);
    expect(started).toHaveLength(0);
    expect(await worker.terminate()).toBe(0);

    // Runs sent at once wait for the thread to load, arrive in order, and Emscripten hears "loaded" only once.
    worker.postMessage({ cmd: 'run', arg: 1 });
    worker.postMessage({ cmd: 'run', arg: 2 });
    expect(started).toHaveLength(1);
    await until(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(messages).toEqual([{ cmd: 'loaded' }, { cmd: 'ran', arg: 1 }, { cmd: 'ran', arg: 2 }]);
    worker.postMessage({ cmd: 'run', arg: 3 });
    await until(4);
    expect(messages[3]).toEqual({ cmd: 'ran', arg: 3 });
    expect(started).toHaveLength(1);
    await worker.terminate();
  });

  it('refuses a message before the worker is loaded', async () => {
    const { worker } = await pool(false);
    expect(() => worker.postMessage({ cmd: 'run', arg: 1 })).toThrow(/before it was loaded/);
  });
});
