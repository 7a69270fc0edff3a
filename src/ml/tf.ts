/**
 * Loads TensorFlow.js on the backend a run resolved to. Imported lazily by numeric
 * stages only, so cached runs never pay for tfjs.
 */
import { availableParallelism } from 'node:os';
import type { BackendName } from './backend-name.js';
import { tfjsNode, tfjsUnion, tfjsWasm } from './tfjs-packages.js';

export type Tf = typeof import('@tensorflow/tfjs');

let loaded: { backend: string; tf: Promise<Tf> } | undefined;

/** Parallel stages share one initialisation: the promise is kept, not its result. */
export function loadTf(backend: BackendName | string): Promise<Tf> {
  if (loaded) {
    if (loaded.backend !== backend) return Promise.reject(new Error(`tfjs is already initialised on ${loaded.backend}; cannot switch to ${backend} in one process`));
    return loaded.tf;
  }
  loaded = { backend, tf: initialise(backend) };
  return loaded.tf;
}

async function initialise(backend: string): Promise<Tf> {
  let tf: Tf;
  if (backend === 'tensorflow') {
    // TensorFlow's C++ start-up notices (CPU features, oneDNN) are not for inkflow's users.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    tf = tfjsNode();
    await tf.setBackend('tensorflow');
  } else {
    tf = tfjsUnion();
    let ok: boolean;
    if (backend === 'wasm') {
      tfjsWasm();
      (await import('./wasm-kernels.js')).registerWasmTrainingKernels();
      const { withWasmThreads } = await import('./wasm-threads.js');
      ok = await withWasmThreads(wasmThreadCount(), () => tf.setBackend('wasm'));
    } else {
      ok = await tf.setBackend(backend);
    }
    if (!ok) throw new Error(`tfjs backend "${backend}" failed to initialise`);
  }
  await tf.ready();
  tf.env().set('PROD', true);
  return tf;
}

/** One XNNPACK thread per core unless INKFLOW_WASM_THREADS says otherwise. */
export function wasmThreadCount(): number {
  const requested = Number(process.env.INKFLOW_WASM_THREADS);
  if (Number.isInteger(requested) && requested > 0) return requested;
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * Runs `compute` in a tidy scope and copies its result out. Return tensors, never
 * typed arrays, from tf.tidy: it walks whatever its callback returns key by key,
 * which for a typed array costs a Set insertion per element (seconds per batch).
 */
export function readOut(tf: Tf, compute: () => import('@tensorflow/tfjs').Tensor): Float32Array {
  const result = tf.tidy(compute);
  try {
    return result.dataSync() as Float32Array;
  } finally {
    result.dispose();
  }
}
