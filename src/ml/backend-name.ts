/**
 * Which tfjs backend a run will use, decided without loading tfjs, so a fully
 * cached run stays fast and the backend can still enter numeric stages' keys.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BackendRequest } from '../engine/config.js';

const require = createRequire(import.meta.url);

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export function nativeTensorflowAvailable(): boolean {
  if (process.env.INKFLOW_DISABLE_TFJS_NODE === '1') return false;
  try {
    const pkg = require.resolve('@tensorflow/tfjs-node/package.json');
    return existsSync(join(dirname(pkg), 'lib', 'napi-v8', 'tfjs_binding.node'));
  } catch {
    return false;
  }
}

export function resolveBackendName(request: BackendRequest | undefined): BackendName {
  const forced = process.env.INKFLOW_BACKEND as BackendRequest | undefined;
  const wanted = forced && forced !== 'auto' ? forced : request ?? 'auto';
  if (wanted !== 'auto') return wanted;
  return nativeTensorflowAvailable() ? 'tensorflow' : 'wasm';
}
