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
 * And one cost: Emscripten starts a pool of 8 workers whatever the thread count
 * (see PoolWorker).
 */
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { EventEmitter } from 'node:events';
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
  const pool: PoolWorker[] = [];
  // XNNPACK runs threads − 1 pthreads beside the main thread.
  const Worker = function (url: string | URL, options?: WorkerOptions) {
    const file = String(url).startsWith('blob:') ? worker : String(url);
    const poolWorker = new PoolWorker(() => new NodeWorker(file, options), mainScript, (self) => pool.indexOf(self) >= pool.length - (threads - 1));
    pool.push(poolWorker);
    return poolWorker;
  };
  Object.defineProperty(globalThis, 'Worker', { get: () => Worker, set: () => undefined, configurable: true });
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

type WorkerMessage = { cmd?: unknown; urlOrBlob?: unknown };
const isMessage = (value: unknown): value is WorkerMessage => typeof value === 'object' && value !== null;

/**
 * What Emscripten's pthread pool holds in place of a browser Worker.
 *
 * Emscripten fills its pool with 8 workers whatever the thread count, and in
 * Node each is a thread that boots and evaluates the backend's script: about
 * 0.3 s of CPU on two cores for workers XNNPACK never uses. The pool is filled
 * before any is loaded, and a pthread takes the pool's last worker, so the
 * last threads − 1 (the ones XNNPACK's pool runs on, and waits for on the main
 * thread while it starts) are started when Emscripten loads them. The others
 * answer that they have loaded without starting a thread, and start one only
 * if a pthread is ever run on them; their messages wait until it has loaded.
 */
export class PoolWorker extends EventEmitter {
  private thread: NodeWorker | undefined;
  private loadMessage: WorkerMessage | undefined;
  /** Messages for a stand-by thread that is still loading. */
  private waiting: [unknown, readonly Transferable[] | undefined][] | undefined;

  constructor(
    private readonly start: () => NodeWorker,
    private readonly mainScript: string,
    private readonly startsAtLoad: (self: PoolWorker) => boolean,
  ) {
    super();
  }

  postMessage(message: unknown, transfer?: readonly Transferable[]): void {
    if (this.thread) {
      if (this.waiting) this.waiting.push([message, transfer]);
      else this.thread.postMessage(message, transfer);
      return;
    }
    if (isMessage(message) && message.cmd === 'load') {
      // Node's workers cannot load the script from a Blob: give them the file.
      this.loadMessage = typeof message.urlOrBlob === 'string' ? message : { ...message, urlOrBlob: this.mainScript };
      if (this.startsAtLoad(this)) this.startThread(false);
      else setImmediate(() => this.emit('message', { cmd: 'loaded' }));
      return;
    }
    this.startThread(true);
    this.waiting!.push([message, transfer]);
  }

  private startThread(standingBy: boolean): void {
    if (!this.loadMessage) throw new Error('a wasm pthread worker was sent a message before it was loaded');
    const thread = this.start();
    this.thread = thread;
    if (standingBy) this.waiting = [];
    thread.on('message', (data: unknown) => {
      if (this.waiting && isMessage(data) && data.cmd === 'loaded') {
        // Emscripten was told so when it loaded this worker; now send what waited.
        const waiting = this.waiting;
        this.waiting = undefined;
        for (const [message, transfer] of waiting) thread.postMessage(message, transfer);
        thread.unref();
        return;
      }
      this.emit('message', data);
    });
    thread.on('error', (error: unknown) => this.emit('error', error));
    thread.postMessage(this.loadMessage);
  }

  /**
   * The thread keeps the process alive until it has loaded (its message listener refs it);
   * Emscripten then unrefs it, and refs it while a pthread runs. XNNPACK's pool threads run
   * for the life of the process, which would then never exit: ref is ignored.
   */
  ref(): void {}
  unref(): void {
    this.thread?.unref();
  }
  terminate(): Promise<number> {
    return this.thread ? this.thread.terminate() : Promise.resolve(0);
  }
}
