// `node --import tsx bench/remote.ts <workspace> <run id> [pipeline file]` (from bench/run.js --only remote):
// uploads a finished run's results (default: of pipelines/letters.yaml) to a fresh versitygw, then
// restores the pipeline from it into an empty workspace with `inkflow run`, as a colleague's clone
// would. If this checkout's keys differ from the run's (code or data moved since), that is stopped
// before anything trains and `inkflow pull --run` restores the run's results instead, timed the same.
// Prints one JSON line. The source workspace is only read (its store and runs are never written).
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { ArtifactStore, removeTree } from '../src/engine/store.js';
import type { RunRecord } from '../src/engine/run-record.js';
import { S3Objects } from '../src/remote/s3-objects.js';
import { S3RemoteCache } from '../src/remote/s3-cache.js';
import { publicKeyText } from '../src/remote/signing.js';
import { startS3 } from '../test/servers/s3.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'inkflow.js');
const [source, runId, pipelineFile = 'pipelines/letters.yaml'] = process.argv.slice(2);
if (!source || !runId) throw new Error('usage: bench/remote.ts <workspace> <run id> [pipeline file]');
const record = JSON.parse(readFileSync(join(source, 'logs', 'runs', runId, 'run.json'), 'utf8')) as RunRecord;
const keys = Object.values(record.stages).filter((s) => s.key && (s.status === 'ran' || s.status === 'cached')).map((s) => s.key!);

const s3 = await startS3('inkflow-bench');
const target = mkdtempSync(join(tmpdir(), 'inkflow-remote-bench-'));
try {
  Object.assign(process.env, s3.env);
  const { privateKey } = generateKeyPairSync('ed25519');
  const signingKey = { privateKey, publicKey: publicKeyText(privateKey), path: '(bench)' };
  const location = { name: 'bench', url: `s3://${s3.bucket}/letters`, bucket: s3.bucket, prefix: 'letters', endpoint: s3.endpoint, path_style: true };
  const cache = new S3RemoteCache(new S3Objects(location), { trusted: [signingKey.publicKey], signingKey });
  const store = new ArtifactStore(join(source, 'artifacts'));
  let bytes = 0;
  for (const key of keys) {
    const manifest = await store.lookup(key);
    if (!manifest) throw new Error(`${source}: the result ${key} of run ${runId} is not intact in the store`);
    bytes += Object.values(manifest.outputs).flatMap((o) => Object.values(o.files)).reduce((n, f) => n + f.size, 0);
  }
  const limit = pLimit(4);
  let t = performance.now();
  await Promise.all(keys.map((key) => limit(() => cache.upload(key, store))));
  const pushSeconds = (performance.now() - t) / 1000;

  cpSync(join(ROOT, 'pipelines'), join(target, 'pipelines'), { recursive: true });
  mkdirSync(join(target, '.inkflow'));
  writeFileSync(join(target, '.inkflow', 'config.yaml'), `default_remote: bench
remotes:
  bench: { url: "${location.url}", endpoint: "${s3.endpoint}", path_style: true }
trusted_keys:
  - key: ${signingKey.publicKey}
`);
  t = performance.now();
  const restore = await restoreRun(target);
  let restoreSeconds = (performance.now() - t) / 1000;
  let restoredBy = 'inkflow run';
  if (restore.mismatch) {
    await removeTree(join(target, 'artifacts'));
    mkdirSync(join(target, 'logs', 'runs', runId), { recursive: true });
    cpSync(join(source, 'logs', 'runs', runId, 'run.json'), join(target, 'logs', 'runs', runId, 'run.json'));
    t = performance.now();
    const pulled = spawnSync('node', [CLI, 'pull', '--run', runId, '--json'], { cwd: target, env: process.env, encoding: 'utf8' });
    restoreSeconds = (performance.now() - t) / 1000;
    if (pulled.status !== 0) throw new Error(`inkflow pull --run ${runId} failed (${pulled.status}):\n${pulled.stderr}${pulled.stdout.slice(-2000)}`);
    restore.fromRemote = JSON.parse(pulled.stdout.trim().split('\n').pop()!).moved;
    restoredBy = 'inkflow pull --run';
  }
  process.stdout.write(JSON.stringify({ run: runId, pipeline: pipelineFile, stages: keys.length, bytes, pushSeconds, restoreSeconds, restoredBy, ...restore }) + '\n');
} finally {
  await s3.stop();
  await removeTree(target);
}

/**
 * `inkflow run pipelines/letters.yaml` in the empty workspace, read-only against the remote.
 * If this checkout computes different keys than the recorded run did (its code or data moved
 * since), a stage would start training: the run is stopped at once and the mismatch reported.
 */
function restoreRun(cwd: string): Promise<{ fromRemote: number; mismatch?: string; stderr?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [CLI, 'run', pipelineFile, '--json', '--remote-read-only'], { cwd, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let stderr = '';
    let mismatch: string | undefined;
    let fromRemote = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const event = JSON.parse(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        if (event.event === 'stage-start' && !mismatch) {
          mismatch = `stage "${event.stage}" would be computed (key ${event.key.slice(0, 12)} is not one of run ${runId}'s): this checkout's code or data differ from that run's`;
          child.kill('SIGKILL');
        }
        if (event.event === 'stage-end' && event.status === 'failed') stderr += `${event.stage}: ${event.error}\n`;
        if (event.event === 'summary') fromRemote = Object.values(event.stages as Record<string, { source?: string }>).filter((s) => s.source === 'remote').length;
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (mismatch) resolve({ fromRemote, mismatch });
      else if (code !== 0) reject(new Error(`inkflow run failed (${code}):\n${stderr}`));
      else resolve({ fromRemote, ...(stderr.trim() ? { stderr: stderr.trim().slice(-1000) } : {}) });
    });
  });
}
