/**
 * The remote cache from the command line, as a team uses it: keys, trust, remotes in
 * .inkflow/config.yaml, run/push/pull/gc against a real S3 server (versitygw), with
 * credentials only in the environment and never in anything inkflow writes.
 */
import { cp, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { removeTree } from '../src/engine/store.js';
import { DEMO_PIPELINE, inkflow, runJson, workspace } from './helpers.js';
import { startS3, type S3Server } from './servers/s3.js';

let s3: S3Server;
let env: Record<string, string>;
let keyFile: string;
beforeAll(async () => {
  s3 = await startS3();
  // Each test user's config directory (where keygen writes) is a temporary one.
  env = { ...s3.env, XDG_CONFIG_HOME: await mkdtemp(join(tmpdir(), 'inkflow-config-')) };
  keyFile = join(env.XDG_CONFIG_HOME!, 'inkflow', 'keys', 'default.key');
});
afterAll(async () => {
  await s3?.stop();
});

async function objectKeys(prefix: string): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

/** A workspace set up like a colleague's clone: the team's committed remote config, no local results. */
async function clone(from: string): Promise<string> {
  const ws = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
  await cp(join(from, '.inkflow', 'config.yaml'), join(ws, '.inkflow', 'config.yaml'));
  return ws;
}

describe('inkflow remote, push, pull', () => {
  let team: string;
  const prefix = 'team-cache';

  it('keygen writes a private key only its owner can read; remote add and trust write the workspace config', async () => {
    const gen = await inkflow(tmpdir(), ['remote', 'keygen'], env);
    expect(gen.exitCode, gen.all).toBe(0);
    const publicKey = gen.stdout.trim().split(' ')[0];
    expect(publicKey).toMatch(/^ed25519:[A-Za-z0-9_-]{43}$/);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(`${keyFile}.pub`, 'utf8')).toContain(publicKey);
    expect((await inkflow(tmpdir(), ['remote', 'keygen'], env)).stderr).toContain('already exists; pass --force to replace it');

    team = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
    const add = await inkflow(team, ['remote', 'add', 'team', `s3://${s3.bucket}/${prefix}`, '--endpoint', s3.endpoint, '--path-style', '--default'], env);
    expect(add.exitCode, add.all).toBe(0);
    expect((await inkflow(team, ['remote', 'trust', `${keyFile}.pub`], env)).exitCode).toBe(0);
    const config = await readFile(join(team, '.inkflow', 'config.yaml'), 'utf8');
    expect(config).toContain(`url: s3://${s3.bucket}/${prefix}`);
    expect(config).toContain(`key: ${publicKey}`);
    expect(config).toContain('default_remote: team');
    const list = await inkflow(team, ['remote', 'list'], env);
    expect(list.stdout).toMatch(/team \(default\)\s+s3:\/\/inkflow-test\/team-cache\s+http:\/\/127\.0\.0\.1:\d+\s+path-style/);
    expect(list.stdout).toContain(`1 trusted key(s):\n  ${publicKey}`);
  });

  it('a run uploads to the default remote; a colleague\'s run gets every stage from it; pull restores a run', async () => {
    const made = await runJson(team, ['p.yaml'], env);
    expect(made.statuses).toEqual({ a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    expect(made.events.filter((e) => e.event === 'stage-log' && e.message.startsWith('uploaded '))).toHaveLength(4);
    expect((await objectKeys(prefix)).filter((k) => k.includes('/ac/'))).toHaveLength(4);

    const colleague = await clone(team);
    const got = await runJson(colleague, ['p.yaml'], env);
    expect(Object.values(got.summary.stages).map((s) => s.source)).toEqual(['remote', 'remote', 'remote', 'remote']);
    expect(got.events.some((e) => e.event === 'stage-start')).toBe(false);
    const plain = await inkflow(await clone(team), ['run', 'p.yaml', '--plain'], env);
    expect(plain.stderr).toMatch(/ok: 4 cached \(4 from the remote\)/);

    // The store lost (a new machine, a wiped disk): pull the recorded run back.
    await removeTree(join(team, 'artifacts'));
    const pulled = await inkflow(team, ['pull', '--run', 'latest', '--plain'], env);
    expect(pulled.exitCode, pulled.all).toBe(0);
    expect(pulled.stderr).toMatch(/pull from remote "team" \(s3:\/\/inkflow-test\/team-cache at http:\/\/127\.0\.0\.1:\d+\): 4 result\(s\) downloaded, 0 already here in/);
    expect(pulled.stderr).toMatch(/d: downloading \[#{20}\] \d+ B of \d+ B, 1 file\(s\)/);
    expect(await readFile(join(team, 'artifacts/demo/d/text'), 'utf8')).toBe('d+b+hello!!+c@v1!!');
    expect((await runJson(team, ['p.yaml', '--no-remote'], env)).statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });

    // pull by pipeline into a fresh clone, then push finds everything there already.
    const fresh = await clone(team);
    const byPipeline = await inkflow(fresh, ['pull', 'p.yaml', '--plain'], env);
    expect(byPipeline.stderr, byPipeline.all).toContain('4 result(s) downloaded');
    const again = await inkflow(fresh, ['push', 'p.yaml', '--plain'], env);
    expect(again.stderr, again.all).toContain('0 result(s) uploaded, 4 already on the remote');
  });

  it('--remote-read-only and INKFLOW_REMOTE_READ_ONLY never write, and credentials appear in nothing inkflow writes or prints', async () => {
    const ws = await clone(team);
    await writeFile(join(ws, 'data.txt'), 'v2\n');
    const before = await objectKeys(prefix);
    const got = await runJson(ws, ['p.yaml', '--remote-read-only'], env);
    expect(got.statuses).toEqual({ a: 'cached', b: 'cached', c: 'ran', d: 'ran' });
    expect(await objectKeys(prefix)).toEqual(before);
    await writeFile(join(ws, 'data.txt'), 'v3\n');
    const viaEnv = await runJson(ws, ['p.yaml'], { ...env, INKFLOW_REMOTE_READ_ONLY: '1' });
    expect(viaEnv.statuses).toEqual({ a: 'cached', b: 'cached', c: 'ran', d: 'ran' });
    expect(await objectKeys(prefix)).toEqual(before);
    const record = JSON.parse(await readFile(join(ws, 'logs/runs', viaEnv.summary.runId, 'run.json'), 'utf8'));
    expect(record.options.remote).toMatch(/^remote "team" \(s3:\/\/inkflow-test\/team-cache at http:\/\/127\.0\.0\.1:\d+\)$/);
    await writeFile(join(ws, 'data.txt'), 'v2\n');
    const pushed = await inkflow(ws, ['push', 'p.yaml', '--plain'], env);
    expect(pushed.exitCode, pushed.all).toBe(0);
    expect(pushed.stderr).toContain('2 result(s) uploaded, 2 already on the remote');

    const written = [...await filesUnder(ws), ...await filesUnder(team)].filter((f) => !f.includes('/node_modules/') && !f.includes('/stages/'));
    expect(written.some((f) => f.endsWith('run.json'))).toBe(true);
    expect(written.some((f) => f.endsWith('manifest.json'))).toBe(true);
    expect(written.some((f) => f.endsWith('config.yaml'))).toBe(true);
    for (const file of written) {
      const text = await readFile(file, 'utf8').catch(() => '');
      expect(text, file).not.toContain(s3.secretAccessKey);
      expect(text, file).not.toContain(s3.accessKeyId);
    }
    for (const output of [got.result.all, pushed.all]) {
      expect(output).not.toContain(s3.secretAccessKey);
      expect(output).not.toContain(s3.accessKeyId);
    }
  });

  it('an unreachable server: push fails with one line naming the endpoint; a run warns and uses the local cache', async () => {
    const ws = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n' });
    await cp(join(team, '.inkflow', 'config.yaml'), join(ws, '.inkflow', 'config.yaml'));
    expect((await inkflow(ws, ['remote', 'add', 'down', 's3://nowhere/x', '--endpoint', 'http://127.0.0.1:9', '--path-style'], env)).exitCode).toBe(0);
    const run = await inkflow(ws, ['run', 'p.yaml', '--remote', 'down', '--plain'], env);
    expect(run.exitCode, run.all).toBe(0);
    const warnings = run.stderr.split('\n').filter((l) => l.includes('warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/warning: remote "down" \(s3:\/\/nowhere\/x at http:\/\/127\.0\.0\.1:9\): cannot reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\) while .*; continuing with the local cache only for the rest of this run$/);
    expect(run.stderr).toMatch(/ok: 4 ran/);
    expect((await runJson(ws, ['p.yaml', '--remote', 'down'], env)).statuses).toEqual({ a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
    const push = await inkflow(ws, ['push', 'p.yaml', '--remote', 'down', '--plain'], env);
    expect(push.exitCode).toBe(1);
    expect(push.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
    expect(push.stderr).not.toMatch(/\n\s+at /);
  });

  it('gc --remote removes entries no run recorded here used once older than the cut-off, then the blobs nothing lists', async () => {
    const stranger = await clone(team);
    const before = await objectKeys(prefix);
    const entries = before.filter((k) => k.includes('/ac/')).length;
    const blobs = before.length - entries;
    expect(entries).toBe(6);
    // The team workspace recorded runs that used 4 of the 6 results (the other 2 came from data v2).
    const teamDry = await inkflow(team, ['gc', '--remote', 'team', '--older-than', '0', '--dry-run'], env);
    expect(teamDry.stdout, teamDry.all).toMatch(/^would remove 2 stage entries and 2 blob\(s\), .* kept 4 entries/);
    // Everything was uploaded just now: nothing is older than a day.
    const young = await inkflow(stranger, ['gc', '--remote', 'team', '--older-than', '1'], env);
    expect(young.stdout).toMatch(/^removed 0 stage entries and 0 blob\(s\)/);
    expect(await objectKeys(prefix)).toEqual(before);
    const all = await inkflow(stranger, ['gc', '--remote', 'team', '--older-than', '0'], env);
    expect(all.stdout).toMatch(new RegExp(`^removed ${entries} stage entries and ${blobs} blob\\(s\\)`));
    expect(await objectKeys(prefix)).toEqual([]);
  });

  it('a broken config is reported at file:line, credentials in an endpoint URL are refused, and edits keep what people wrote', async () => {
    const ws = await workspace({ '.inkflow/config.yaml': 'remotes:\n  team:\n    url: s3://bucket/x\n    endpiont: http://127.0.0.1:1\n' });
    const bad = await inkflow(ws, ['remote', 'list'], env);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('.inkflow/config.yaml:4:5: unknown key "endpiont" in remotes.team (did you mean "endpoint"?)');
    const secret = await inkflow(ws, ['remote', 'add', 'leak', 's3://bucket/x', '--endpoint', 'http://AKIA:secret@127.0.0.1:1', '--force'], env);
    expect(secret.exitCode).toBe(2);
    expect(secret.stderr).toContain('--endpoint must not contain credentials; inkflow never stores them');
    expect(secret.stderr).not.toContain(':secret@');
    // Edits keep what people wrote in the file; removing the default remote clears default_remote.
    const kept = await workspace({ '.inkflow/config.yaml': '# our team cache\ntrusted_keys:\n  - key: ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA # CI\n' });
    expect((await inkflow(kept, ['remote', 'add', 'team', 's3://bucket/x', '--default'], env)).exitCode).toBe(0);
    expect((await inkflow(kept, ['remote', 'trust', 'ed25519:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', 'alice', 'laptop'], env)).exitCode).toBe(0);
    expect((await inkflow(kept, ['remote', 'remove', 'team'], env)).exitCode).toBe(0);
    const text = await readFile(join(kept, '.inkflow', 'config.yaml'), 'utf8');
    expect(text).toContain('# our team cache');
    expect(text).toContain('# CI');
    expect(text).toContain('comment: alice laptop');
    expect(text).not.toContain('default_remote');
    expect(text).not.toContain('s3://bucket/x');

    const ws2 = await workspace({ 'p.yaml': DEMO_PIPELINE, 'data.txt': 'v1\n', '.inkflow/config.yaml': 'default_remote: nope\n' });
    const missing = await inkflow(ws2, ['run', 'p.yaml'], env);
    expect(missing.stderr).toContain('.inkflow/config.yaml:1:17: default_remote "nope" is not one of the remotes (none)');
  });
});
