/**
 * Which tfjs backend a run will use, decided without loading tfjs, so a fully
 * cached run stays fast and the backend can still enter numeric stages' keys.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserInputError } from '../errors.js';

const require = createRequire(import.meta.url);

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** What a pipeline file's `backend:` or INKFLOW_BACKEND may ask for. */
export type BackendRequest = BackendName | 'auto';

const REQUESTS: readonly string[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export function nativeTensorflowAvailable(): boolean {
  if (process.env.INKFLOW_DISABLE_TFJS_NODE === '1') return false;
  try {
    const pkg = require.resolve('@tensorflow/tfjs-node/package.json');
    return existsSync(join(dirname(pkg), 'lib', 'napi-v8', 'tfjs_binding.node'));
  } catch {
    return false;
  }
}

export function resolveBackendName(request: string | undefined): BackendName {
  const forced = process.env.INKFLOW_BACKEND;
  if (forced !== undefined && forced !== '' && !REQUESTS.includes(forced)) {
    throw new UserInputError(`INKFLOW_BACKEND=${forced} is not a backend; use one of ${REQUESTS.join(', ')}`);
  }
  const wanted = forced && forced !== 'auto' ? forced : request ?? 'auto';
  if (!REQUESTS.includes(wanted)) throw new UserInputError(`backend "${wanted}" is not one of ${REQUESTS.join(', ')}`);
  if (wanted !== 'auto') return wanted as BackendName;
  return nativeTensorflowAvailable() ? 'tensorflow' : 'wasm';
}
