/**
 * The native path users with libtensorflow get: tfjs-node, built here by
 * scripts/build-tfjs-node.sh. CI builds it and requires this file to run.
 */
import { describe, expect, it } from 'vitest';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, runJson, workspace } from './helpers.js';
import { nativeTensorflowAvailable } from '../dist/src/ml/backend-name.js';

const native = nativeTensorflowAvailable();
if (!native) console.warn('\n!!! native tensorflow tests SKIPPED: tfjs-node addon not built (scripts/build-tfjs-node.sh) !!!\n');

(native ? describe : describe.skip)('tensorflow (tfjs-node) backend', () => {
  it('trains the quick pipeline natively, records the backend, and keys numeric stages by it', async () => {
    const ws = await workspace();
    await cp(join(ROOT, 'pipelines'), join(ws, 'pipelines'), { recursive: true });
    const args = ['pipelines/quick.yaml', '--set', 'train.epochs=1', '--set', 'train.steps_per_epoch=10'];
    const onNative = await runJson(ws, args, { INKFLOW_BACKEND: 'tensorflow', TF_CPP_MIN_LOG_LEVEL: '2' });
    expect(onNative.summary.ok).toBe(true);
    expect(onNative.events[0]).toMatchObject({ event: 'run-start', environment: { backend: 'tensorflow' } });
    const record = JSON.parse(await readFile(join(ws, 'logs/runs', onNative.summary.runId, 'run.json'), 'utf8'));
    expect(record.environment.backend).toBe('tensorflow');
    const onWasm = await runJson(ws, args, { INKFLOW_BACKEND: 'wasm' });
    // Data stages are shared; numeric ones are not, since their results depend on the backend.
    expect(onWasm.statuses).toMatchObject({ 'load-train': 'cached', 'normalize-train': 'cached', 'build-model': 'ran', train: 'ran', evaluate: 'ran' });
    const metrics = JSON.parse(await readFile(join(ws, 'artifacts/quick/evaluate/report/metrics.json'), 'utf8'));
    expect(metrics.count).toBe(520);
  });
});
