/**
 * The WebAssembly SIMD kernels of simd-kernels.wat, instantiated on the tfjs
 * wasm backend's own memory so they work on tensors in place. Assembled into
 * dist/src/ml and src/ml by scripts/build-wasm.mjs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface SimdKernels {
  /** One image; byte offsets; channels a multiple of 4. */
  maxPoolGrad2x2(x: number, dy: number, dx: number, outHeight: number, outWidth: number, inWidth: number, channels: number): void;
  sumRows(src: number, dst: number, rows: number, channels: number): void;
  /** n a multiple of 4. */
  reluGrad(dy: number, x: number, dx: number, n: number): void;
}

/** What inkflow needs of the Emscripten module behind tfjs-backend-wasm. */
export interface EmscriptenModule {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
}

// Literal URLs, so the stages' cache keys include these files (src/engine/registry.ts).
const SHARED_MEMORY_BUILD = new URL('./simd-kernels.wasm', import.meta.url);
const PLAIN_MEMORY_BUILD = new URL('./simd-kernels.unshared.wasm', import.meta.url);

const instances = new WeakMap<WebAssembly.Memory, SimdKernels>();

/** Undefined when the backend does not expose its memory (then callers use JavaScript). */
export function simdKernelsFor(module: EmscriptenModule): SimdKernels | undefined {
  const memory = module.wasmMemory ?? module.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return undefined;
  let kernels = instances.get(memory);
  if (!kernels) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const file = shared ? SHARED_MEMORY_BUILD : PLAIN_MEMORY_BUILD;
    if (!existsSync(file)) throw new Error(`${fileURLToPath(file)} is missing: run "npm run build" (it assembles the .wat kernels)`);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), { env: { memory } });
    kernels = kernelsOf(instance.exports, file);
    instances.set(memory, kernels);
  }
  return kernels;
}

/** The kernels among a module's exports, checked by name (WebAssembly exports carry no signatures; these are simd-kernels.wat's). */
function kernelsOf(exports: WebAssembly.Exports, file: URL): SimdKernels {
  const get = (name: keyof SimdKernels) => {
    const f = exports[name];
    if (typeof f !== 'function') throw new Error(`${fileURLToPath(file)} exports no function ${name}: run "npm run build" to assemble the kernels again`);
    return f;
  };
  return { maxPoolGrad2x2: get('maxPoolGrad2x2'), sumRows: get('sumRows'), reluGrad: get('reluGrad') } as SimdKernels;
}
