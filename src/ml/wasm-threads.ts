/**
 * Multi-threaded XNNPACK for tfjs-backend-wasm under Node. The stock backend
 * disables threads in Node (tfjs issue 3830) for three reasons, each handled here:
 *  1. the WASM_HAS_MULTITHREAD_SUPPORT flag is hard-wired to false in Node;
 *  2. Emscripten starts its pthread workers from a blob: URL and sends the main
 *     script as a Blob, which Node's worker_threads cannot load; we give the
 *     workers real files shipped in the package instead;
 *  3. the C++ side caps threads at logical cores / 2 (assuming hyper-threads),
 *     so on a 2-vCPU machine it would use one; we report the cores doubled while
 *     the backend initialises.
 */
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { Worker as NodeWorker, type Transferable, type WorkerOptions } from 'node:worker_threads';
import { tfjsCore, tfjsWasm } from './tfjs-packages.js';

const require = createRequire(import.meta.url);

function workerFiles(): { worker: string; mainScript: string } {
  const pkgDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const version = (require('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }).version;
  const wasmOut = join(pkgDir, 'wasm-out');
  const mainScript = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  const worker = join(os.tmpdir(), `inkflow-tfjs-wasm-${version}`, 'pthread-worker.cjs');
  if (!existsSync(worker)) {
    const contents = (require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string }).wasmWorkerContents;
    mkdirSync(dirname(worker), { recursive: true });
    const tmp = `${worker}.${process.pid}.tmp`;
    // The bundled contents keep "\n" escapes literally; the stock loader re-escapes them the same way.
    writeFileSync(tmp, contents.replace(/\n/g, '\\n'));
    renameSync(tmp, worker);
  }
  return { worker, mainScript };
}

/** Call before `tf.setBackend('wasm')`; `initialise` runs the backend's set-up. */
export async function withWasmThreads<T>(threads: number, initialise: () => Promise<T>): Promise<T> {
  const tf = tfjsCore();
  const wasm = tfjsWasm();
  if (threads <= 1) return initialise();
  const { worker, mainScript } = workerFiles();
  class FileWorker extends NodeWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(String(url).startsWith('blob:') ? worker : url, options);
      this.unref();
    }
    // Emscripten refs a worker while its pthread runs; XNNPACK's pool threads run
    // for the life of the process, which would then never exit.
    override ref(): void {}
    override postMessage(message: unknown, transfer?: readonly Transferable[]): void {
      const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
      if (isObject(message) && message.cmd === 'load' && typeof message.urlOrBlob !== 'string') message = { ...message, urlOrBlob: mainScript };
      super.postMessage(message, transfer);
    }
  }
  Object.defineProperty(globalThis, 'Worker', { get: () => FileWorker, set: () => undefined, configurable: true });
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  const realCpus = os.cpus;
  os.cpus = () => {
    const cpus = realCpus();
    return cpus.length ? Array.from({ length: threads * 2 }, (_, i) => cpus[i % cpus.length]!) : cpus;
  };
  try {
    return await initialise();
  } finally {
    os.cpus = realCpus;
  }
}
