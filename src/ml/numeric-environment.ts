/**
 * The stage environment of every stage whose numbers depend on the tfjs backend:
 * the resolved backend enters those stages' cache keys (as the `backend` entry, the
 * same key entry they always had) and the run record lists the ML libraries' versions.
 */
import { createRequire } from 'node:module';
import type { StageContext, StageEnvironment } from '../engine/stage-api.js';
import { resolveBackendName, type BackendName } from './backend-name.js';
import { loadTf, type Tf } from './tf.js';
import { InternalError } from '../errors.js';

const require = createRequire(import.meta.url);
const RECORDED_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', 'h5wasm', '@napi-rs/canvas'];

export const numericEnvironment: StageEnvironment = {
  name: 'tfjs',
  resolve(request) {
    const backend = resolveBackendName(request.backend);
    return { key: { backend }, record: { backend, packages: packageVersions(RECORDED_PACKAGES) } };
  },
};

/** The backend the run resolved for a stage declared with `environment: numericEnvironment`. */
export function stageBackend(ctx: Pick<StageContext<unknown>, 'environment'>): BackendName {
  const backend = ctx.environment.backend;
  if (!backend) throw new InternalError('this stage does not declare environment: numericEnvironment, so it has no backend');
  return backend as BackendName;
}

/** tfjs, initialised on the stage's resolved backend. */
export function loadStageTf(ctx: Pick<StageContext<unknown>, 'environment'>): Promise<Tf> {
  return loadTf(stageBackend(ctx));
}

function packageVersions(names: string[]): Record<string, string | undefined> {
  const versions: Record<string, string | undefined> = {};
  for (const name of names) {
    try {
      versions[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      versions[name] = undefined;
    }
  }
  return versions;
}
