/**
 * The remote cache against a real S3 server (versitygw on a loopback port): the engine
 * in-process with the S3 RemoteCache; signed entries, integrity and trust checks,
 * multipart and resumed uploads, read-only mode, an unreachable server, remote gc.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { loadPipeline } from '../src/engine/config.js';
import { runPipeline, type RunOptions } from '../src/engine/executor.js';
import type { RunEvent } from '../src/engine/events.js';
import { ArtifactStore } from '../src/engine/store.js';
import { collectRemoteGarbage } from '../src/remote/gc.js';
import { S3Objects } from '../src/remote/s3-objects.js';
import { S3RemoteCache } from '../src/remote/s3-cache.js';
import { publicKeyText, type SigningKey } from '../src/remote/signing.js';
import { sha256 } from '../src/util/hash.js';
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
const newPrefix = () => `t${++prefixes}`;
function remote(prefix: string, options: { trusted: string[]; signingKey?: SigningKey; readOnly?: boolean; endpoint?: string }) {
  const objects = new S3Objects({ name: 'test', url: `s3://${s3.bucket}/${prefix}`, bucket: s3.bucket, prefix, endpoint: options.endpoint ?? s3.endpoint, path_style: true });
  return new S3RemoteCache(objects, options);
}

async function run(ws: string, options: Partial<RunOptions> = {}) {
  const pipeline = await loadPipeline(join(ws, 'p.yaml'), { workspace: ws });
  const events: RunEvent[] = [];
  const result = await runPipeline(pipeline, { workspace: ws, onEvent: (e) => events.push(e), ...options });
  const statuses = Object.fromEntries(Object.entries(result.stages).map(([k, v]) => [k, `${v.status}${v.source ? `:${v.source}` : ''}`]));
  const warnings = events.filter((e): e is Extract<RunEvent, { event: 'stage-log' }> => e.event === 'stage-log' && e.level === 'warn').map((e) => `${e.stage}: ${e.message}`);
  return { result, events, statuses, warnings };
}

async function objectKeys(prefix: string): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

async function getText(key: string): Promise<string> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return out.Body!.transformToString();
}

const put = (key: string, body: string | Uint8Array) => s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));

/** A workspace whose demo pipeline ran and was uploaded to `prefix`, signed by `key`. */
async function published(prefix: string, key: SigningKey) {
  const ws = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
  const made = await run(ws, { remote: remote(prefix, { trusted: [key.publicKey], signingKey: key }) });
  expect(made.statuses).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
  expect(made.warnings).toEqual([]);
  return { ws, keys: Object.fromEntries(Object.entries(made.result.stages).map(([s, v]) => [s, v.key])) as Record<'a' | 'b' | 'c' | 'd', string> };
}

async function storeKeys(ws: string): Promise<string[]> {
  return new ArtifactStore(join(ws, 'artifacts')).keys();
}

describe('remote cache on S3', () => {
  it('without versitygw the remote tests fail, saying how to install it (they never skip)', async () => {
    const before = process.env.VERSITYGW;
    process.env.VERSITYGW = '/nonexistent/versitygw';
    try {
      await expect(startS3()).rejects.toThrow('versitygw is not installed at /nonexistent/versitygw: run `bash scripts/install-services.sh`');
    } finally {
      if (before === undefined) delete process.env.VERSITYGW;
      else process.env.VERSITYGW = before;
    }
  });

  it('a second workspace with an empty store gets every stage from the remote, and none runs', async () => {
    const key = newKey();
    const prefix = newPrefix();
    const { ws: first, keys } = await published(prefix, key);
    const listed = await objectKeys(prefix);
    for (const stage of ['a', 'b', 'c', 'd'] as const) expect(listed).toContain(`${prefix}/ac/${keys[stage]}.json`);
    expect(listed.filter((k) => k.startsWith(`${prefix}/cas/sha256/`)).length).toBe(4);

    const second = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
    const got = await run(second, { remote: remote(prefix, { trusted: [key.publicKey], readOnly: true }) });
    expect(got.statuses).toEqual({ a: 'cached:remote', b: 'cached:remote', c: 'cached:remote', d: 'cached:remote' });
    expect(got.warnings).toEqual([]);
    expect(got.events.some((e) => e.event === 'stage-start')).toBe(false);
    expect(got.events).toContainEqual(expect.objectContaining({ event: 'stage-progress', stage: 'd', message: expect.stringMatching(/^downloading \[#+\] 18 B of 18 B, 1 file/) }));
    for (const stage of ['a', 'b', 'c', 'd'] as const) expect(got.result.stages[stage]!.key).toBe(keys[stage]);
    expect(await readFile(join(second, 'artifacts/demo/d/text'), 'utf8')).toBe(await readFile(join(first, 'artifacts/demo/d/text'), 'utf8'));
    const record = JSON.parse(await readFile(join(second, 'logs/runs', got.result.runId, 'run.json'), 'utf8'));
    const original = JSON.parse(await readFile(join(first, 'logs/runs', (await readdir(join(first, 'logs/runs')))[0]!, 'run.json'), 'utf8'));
    expect(record.stages.d).toMatchObject({ status: 'cached', source: 'remote', metrics: original.stages.d.metrics });
    // Downloaded results are ordinary, verified local cache entries now.
    expect((await run(second, { verifyCache: true })).statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
  });

  it('a tampered blob is rejected naming the stage key, never stored, removed by a writing client, and the stage computed here', async () => {
    const key = newKey();
    const prefix = newPrefix();
    const { keys } = await published(prefix, key);
    const entry = JSON.parse(await getText(`${prefix}/ac/${keys.a}.json`));
    const digest: string = entry.body.outputs.text.files['.'].sha256;
    // Whoever can write the bucket swaps the content (same size, so a HEAD would not notice).
    const genuine = await getText(`${prefix}/cas/sha256/${digest}`);
    await put(`${prefix}/cas/sha256/${digest}`, 'X'.repeat(genuine.length));

    const victim = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
    const reader = remote(prefix, { trusted: [key.publicKey], readOnly: true });
    const store = new ArtifactStore(join(victim, 'artifacts'));
    const fetching = reader.fetch(keys.a, store);
    await expect(fetching).rejects.toThrow(`stage key ${keys.a}: blob s3://${s3.bucket}/${prefix}/cas/sha256/${digest}`);
    await expect(fetching).rejects.toThrow(/is corrupt: its content hashes to [0-9a-f]{64}; it was not stored$/);
    expect(await storeKeys(victim)).toEqual([]);
    expect(await readdir(store.staging)).toEqual([]);

    // In a run: a warning naming the key, the stage computed locally, the right result.
    const writer = remote(prefix, { trusted: [key.publicKey], signingKey: key });
    const got = await run(victim, { remote: writer });
    expect(got.statuses).toEqual({ a: 'ran', b: 'cached:remote', c: 'cached:remote', d: 'cached:remote' });
    expect(got.warnings).toEqual([expect.stringContaining(`a: stage key ${keys.a}: blob`)]);
    expect(got.warnings[0]).toContain('and was removed from the remote; computing it here instead');
    expect(await readFile(join(victim, 'artifacts/demo/a/text'), 'utf8')).toBe(genuine);
    // The writing client replaced the bad blob with its own genuine upload.
    expect(await getText(`${prefix}/cas/sha256/${digest}`)).toBe(genuine);
  });

  it('forged stage entries are rejected: untrusted signer, unsigned, altered after signing, or a genuine entry replayed under another key', async () => {
    const key = newKey();
    const mallory = newKey();
    const prefix = newPrefix();
    const { keys } = await published(prefix, key);
    const entryKey = (k: string) => `${prefix}/ac/${k}.json`;
    const genuineA = JSON.parse(await getText(entryKey(keys.a)));
    const genuineC = JSON.parse(await getText(entryKey(keys.c)));
    const reader = remote(prefix, { trusted: [key.publicKey], readOnly: true });
    const victim = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
    const store = new ArtifactStore(join(victim, 'artifacts'));

    // Mallory computes her own result for stage a and signs it with her key.
    const evil = 'evil!!';
    const forgedBody = { ...genuineA.body, outputs: { text: { digest: sha256(`.\0${sha256(evil)}`), files: { '.': { size: evil.length, sha256: sha256(evil) } } } } };
    await put(`${prefix}/cas/sha256/${sha256(evil)}`, evil);
    const { entryFromManifest } = await import('../src/remote/entry.js');
    const signedByMallory = entryFromManifest({ ...forgedBody, key: keys.a }, mallory);
    await put(entryKey(keys.a), JSON.stringify(signedByMallory));
    await expect(reader.fetch(keys.a, store)).rejects.toThrow(`stage entry for key ${keys.a} (s3://${s3.bucket}/${entryKey(keys.a)}) refused: signed by ${mallory.publicKey}, which is not in the workspace's trusted_keys`);

    // Her result with the signature taken off.
    await put(entryKey(keys.a), JSON.stringify({ format: 1, body: signedByMallory.body }));
    await expect(reader.fetch(keys.a, store)).rejects.toThrow(`stage entry for key ${keys.a} (s3://${s3.bucket}/${entryKey(keys.a)}) refused: it is not signed`);

    // Her result under the genuine signature.
    await put(entryKey(keys.a), JSON.stringify({ ...genuineA, body: signedByMallory.body }));
    await expect(reader.fetch(keys.a, store)).rejects.toThrow('refused: the signature does not match its content');

    // The genuine, trusted entry of stage c stored as the entry of stage a.
    await put(entryKey(keys.a), JSON.stringify(genuineC));
    await expect(reader.fetch(keys.a, store)).rejects.toThrow(`refused: it is a genuine entry for another key (${keys.c}) stored under this one`);

    // Even a trusted signer cannot make a download write outside the store.
    const trustedEvil = entryFromManifest({ ...forgedBody, key: keys.a, outputs: { text: { digest: sha256(`../../escape\0${sha256(evil)}`), files: { '../../escape': { size: evil.length, sha256: sha256(evil) } } } } }, key);
    await put(entryKey(keys.a), JSON.stringify(trustedEvil));
    await expect(reader.fetch(keys.a, store)).rejects.toThrow('refused: not an inkflow stage entry (/body/outputs/text/files has a name that is not a safe relative path or output name: "../../escape")');

    expect(await storeKeys(victim)).toEqual([]);
    const got = await run(victim, { remote: reader });
    expect(got.statuses.a).toBe('ran');
    expect(await readFile(join(victim, 'artifacts/demo/a/text'), 'utf8')).not.toContain('evil');
    expect(got.warnings).toEqual([expect.stringContaining(`stage entry for key ${keys.a}`)]);
  });

  it('read-only mode never writes to the remote', async () => {
    const key = newKey();
    const prefix = newPrefix();
    const ws = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
    await put(`${prefix}/marker`, 'x');
    const readOnly = remote(prefix, { trusted: [key.publicKey], signingKey: key, readOnly: true });
    expect(readOnly.writable).toBe(false);
    const got = await run(ws, { remote: readOnly });
    expect(got.statuses).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    expect(await objectKeys(prefix)).toEqual([`${prefix}/marker`]);
    await expect(readOnly.publish(got.result.stages.a!.key, new ArtifactStore(join(ws, 'artifacts')))).rejects.toThrow('is read-only here; nothing is uploaded');
    expect(await objectKeys(prefix)).toEqual([`${prefix}/marker`]);
    // Without a signing key nothing can be written either.
    expect(remote(prefix, { trusted: [key.publicKey] }).writable).toBe(false);
  });

  it('an unreachable server is one warning naming the endpoint, and the local cache carries on', async () => {
    const key = newKey();
    const ws = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
    const dead = remote(newPrefix(), { trusted: [key.publicKey], signingKey: key, endpoint: 'http://127.0.0.1:9' });
    const first = await run(ws, { remote: dead });
    expect(first.result.ok).toBe(true);
    expect(first.statuses).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    expect(first.warnings).toHaveLength(1);
    expect(first.warnings[0]).toMatch(/^[ac]: remote "test" \(s3:\/\/inkflow-test\/t\d+ at http:\/\/127\.0\.0\.1:9\): cannot reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\) while reading .*; continuing with the local cache only for the rest of this run$/);
    const second = await run(ws, { remote: dead });
    expect(second.statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
    expect(second.warnings).toEqual([]);
  });

  it('large blobs go up in parts and come back intact; an interrupted upload resumes with only what is missing', async () => {
    const key = newKey();
    const prefix = newPrefix();
    const big = `name: big
stages:
  blob:
    uses: ./stages/big.ts
`;
    const stage = `import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
export default {
  description: 'writes 20 MiB of random bytes and two small files with the same content',
  version: 1,
  paramsSchema: { type: 'object', additionalProperties: false, properties: {} },
  inputs: {},
  outputs: ['data'],
  async run(ctx: any) {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(ctx.output('data'));
    await writeFile(ctx.output('data') + '/weights.bin', randomBytes(20 * 1024 * 1024));
    await writeFile(ctx.output('data') + '/small.json', '{"ok":true}');
    await writeFile(ctx.output('data') + '/copy.json', '{"ok":true}');
    await writeFile(ctx.output('data') + '/empty.txt', '');
  },
};
`;
    const ws = await workspace({ 'p.yaml': big, 'stages/big.ts': stage });
    const writer = remote(prefix, { trusted: [key.publicKey], signingKey: key });
    const made = await run(ws, { remote: writer });
    expect(made.statuses).toEqual({ blob: 'ran' });
    expect(made.warnings).toEqual([]);
    const blobKey = made.result.stages.blob!.key;
    const manifest = await new ArtifactStore(join(ws, 'artifacts')).lookup(blobKey);
    const weights = manifest!.outputs.data!.files['weights.bin']!;
    expect(weights.size).toBe(20 * 1024 * 1024);
    // A multipart upload's ETag is "<md5 of the parts' md5s>-<parts>".
    const head = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/cas/sha256/${weights.sha256}`, Range: 'bytes=0-0' }));
    expect(head.ETag).toMatch(/-3"$/);
    // Two files with the same content are one blob.
    expect((await objectKeys(prefix)).filter((k) => k.includes('/cas/'))).toHaveLength(3);

    // An upload killed after the small blob went up: no entry (it goes last), the big blob missing.
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/ac/${blobKey}.json` }));
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/cas/sha256/${weights.sha256}` }));
    const progress: string[] = [];
    const resumed = await writer.upload(blobKey, new ArtifactStore(join(ws, 'artifacts')), { onProgress: (m) => progress.push(m) });
    expect(resumed.bytes).toBe(weights.size);
    expect(progress.at(-1)).toMatch(/^uploading \[#{20}\] 20\.0 MiB of 20\.0 MiB, 3 file\(s\) \(11 B already there\)$/);
    expect((await writer.upload(blobKey, new ArtifactStore(join(ws, 'artifacts')))).bytes).toBe(0);

    const other = await workspace({ 'p.yaml': big, 'stages/big.ts': stage });
    const got = await run(other, { remote: remote(prefix, { trusted: [key.publicKey], readOnly: true }) });
    expect(got.statuses).toEqual({ blob: 'cached:remote' });
    const original = await readFile(join(ws, 'artifacts/big/blob/data/weights.bin'));
    expect((await readFile(join(other, 'artifacts/big/blob/data/weights.bin'))).equals(original)).toBe(true);
    expect(await readFile(join(other, 'artifacts/big/blob/data/copy.json'), 'utf8')).toBe('{"ok":true}');
    expect(await readFile(join(other, 'artifacts/big/blob/data/empty.txt'), 'utf8')).toBe('');
  });

  it('gc removes entries older than the cut-off that no kept run used, then the blobs nothing lists', async () => {
    const key = newKey();
    const prefix = newPrefix();
    const { keys } = await published(prefix, key);
    await put(`${prefix}/cas/sha256/${'0'.repeat(64)}`, 'orphan');
    const cache = remote(prefix, { trusted: [key.publicKey], signingKey: key });
    const young = await collectRemoteGarbage(cache, { olderThanMs: 3600_000, keep: new Set() });
    expect(young).toMatchObject({ entries: 0, blobs: 0, keptEntries: 4, keptBlobs: 5 });
    const dry = await collectRemoteGarbage(cache, { olderThanMs: 0, keep: new Set([keys.a]), dryRun: true, now: Date.now() + 1000 });
    expect(dry).toMatchObject({ entries: 3, blobs: 4, keptEntries: 1, keptBlobs: 1 });
    expect(await objectKeys(prefix)).toHaveLength(9);
    const done = await collectRemoteGarbage(cache, { olderThanMs: 0, keep: new Set([keys.a]), now: Date.now() + 1000 });
    expect(done).toMatchObject({ entries: 3, blobs: 4 });
    const left = await objectKeys(prefix);
    expect(left).toHaveLength(2);
    expect(left).toContain(`${prefix}/ac/${keys.a}.json`);
    // What is left is still a whole, trusted result.
    const ws = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
    expect(await cache.fetch(keys.a, new ArtifactStore(join(ws, 'artifacts')))).toBe(true);
  });
});
