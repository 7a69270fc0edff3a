/**
 * The remote cache against a real S3 server (versitygw on a loopback port): the engine
 * in-process with the S3 RemoteCache, signed entries, integrity and trust checks.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { loadPipeline } from '../src/engine/config.js';
import { runPipeline, type RunOptions } from '../src/engine/executor.js';
import type { RunEvent } from '../src/engine/events.js';
import { ArtifactStore } from '../src/engine/store.js';
import { S3Objects } from '../src/remote/s3-objects.js';
import { S3RemoteCache } from '../src/remote/s3-cache.js';
import { publicKeyText, type SigningKey } from '../src/remote/signing.js';
import { DEMO_PIPELINE, workspace } from './helpers.js';
import { startS3, type S3Server } from './servers/s3.js';

function newKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey: publicKeyText(privateKey), path: '(memory)' };
}

let s3: S3Server;
const saved: Record<string, string | undefined> = {};
beforeAll(async () => {
  s3 = await startS3();
  // The SDK's standard credential chain reads these; inkflow never handles them itself.
  for (const [k, v] of Object.entries(s3.env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await s3?.stop();
});

let prefixes = 0;
function remote(options: { trusted: string[]; signingKey?: SigningKey; readOnly?: boolean; prefix?: string; endpoint?: string }) {
  const prefix = options.prefix ?? `t${++prefixes}`;
  const objects = new S3Objects({ name: 'test', url: `s3://${s3.bucket}/${prefix}`, bucket: s3.bucket, prefix, endpoint: options.endpoint ?? s3.endpoint, path_style: true });
  return new S3RemoteCache(objects, options);
}

async function run(ws: string, options: Partial<RunOptions> = {}) {
  const pipeline = await loadPipeline(join(ws, 'p.yaml'), { workspace: ws });
  const events: RunEvent[] = [];
  const result = await runPipeline(pipeline, { workspace: ws, onEvent: (e) => events.push(e), ...options });
  const statuses = Object.fromEntries(Object.entries(result.stages).map(([k, v]) => [k, `${v.status}${v.source ? `:${v.source}` : ''}`]));
  const warnings = events.filter((e): e is Extract<RunEvent, { event: 'stage-log' }> => e.event === 'stage-log' && e.level === 'warn').map((e) => e.message);
  return { result, events, statuses, warnings };
}

async function objectKeys(prefix: string): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

describe('remote cache on S3', () => {
  it('a second workspace with an empty store gets every stage from the remote, and none runs', async () => {
    const key = newKey();
    const shared = remote({ trusted: [key.publicKey], signingKey: key, prefix: 'roundtrip' });
    const first = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
    const made = await run(first, { remote: shared });
    expect(made.statuses).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    expect(made.warnings).toEqual([]);
    const keys = await objectKeys('roundtrip');
    for (const stage of ['a', 'b', 'c', 'd']) expect(keys).toContain(`roundtrip/ac/${made.result.stages[stage]!.key}.json`);
    expect(keys.filter((k) => k.startsWith('roundtrip/cas/sha256/')).length).toBeGreaterThan(0);

    const second = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
    const reader = remote({ trusted: [key.publicKey], readOnly: true, prefix: 'roundtrip' });
    const got = await run(second, { remote: reader });
    expect(got.statuses).toEqual({ a: 'cached:remote', b: 'cached:remote', c: 'cached:remote', d: 'cached:remote' });
    expect(got.events.some((e) => e.event === 'stage-start')).toBe(false);
    for (const stage of ['a', 'b', 'c', 'd']) expect(got.result.stages[stage]!.key).toBe(made.result.stages[stage]!.key);
    expect(await readFile(join(second, 'artifacts/demo/d/text'), 'utf8')).toBe(await readFile(join(first, 'artifacts/demo/d/text'), 'utf8'));
    const record = JSON.parse(await readFile(join(second, 'logs/runs', got.result.runId, 'run.json'), 'utf8'));
    expect(record.stages.d).toMatchObject({ status: 'cached', source: 'remote', metrics: { length: expect.any(Number) } });
    // The downloaded results are ordinary local cache entries now.
    expect((await run(second)).statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
  });
});
