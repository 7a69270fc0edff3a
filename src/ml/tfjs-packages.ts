/**
 * tfjs' packages, loaded with require(). They are large CommonJS bundles, and
 * import() first scans each one's source for the names it exports: that made
 * loading tfjs take about 0.5 s, against about 0.13 s through require(), on
 * every command that computes anything. The instances are the same either way.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const tfjsCore = (): typeof import('@tensorflow/tfjs-core') => require('@tensorflow/tfjs-core');
export const tfjsUnion = (): typeof import('@tensorflow/tfjs') => require('@tensorflow/tfjs');
export const tfjsWasm = (): typeof import('@tensorflow/tfjs-backend-wasm') => require('@tensorflow/tfjs-backend-wasm');
/** The native backend, an optional dependency: throws MODULE_NOT_FOUND when it is not installed. */
export const tfjsNode = (): typeof import('@tensorflow/tfjs') => require('@tensorflow/tfjs-node');
