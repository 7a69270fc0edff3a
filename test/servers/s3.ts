/**
 * A real S3 server for tests: versitygw serving a temporary folder on a free loopback
 * port, with fresh root credentials and one empty bucket. Installed by
 * scripts/install-services.sh; when it is missing, tests fail saying so (never skip).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

// The SDK's notice that its 2027 releases will need Node 22 is not a test failure (see src/remote/s3-objects.ts).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3Server {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The folder versitygw serves: `<dir>/<bucket>/<object key>`, for tests that tamper with objects behind the server's back. */
  dir: string;
  /** AWS_* variables a client needs to talk to this server. */
  env: Record<string, string>;
  client: S3Client;
  stop(): Promise<void>;
}

export function versitygwPath(): string {
  if (process.env.VERSITYGW) return process.env.VERSITYGW;
  const gopath = process.env.GOPATH?.split(':')[0] || join(homedir(), 'go');
  return join(gopath, 'bin', 'versitygw');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, output: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`versitygw exited with ${child.exitCode}:\n${output()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`versitygw did not answer on ${url} within ${timeoutMs / 1000} s:\n${output()}`);
}

export async function startS3(bucket = 'inkflow-test'): Promise<S3Server> {
  const binary = versitygwPath();
  if (!existsSync(binary)) {
    throw new Error(`versitygw is not installed at ${binary}: run \`bash scripts/install-services.sh\` (the remote cache tests need a real S3 server)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'inkflow-s3-'));
  const port = await freePort();
  const accessKeyId = `inkflow${randomBytes(4).toString('hex')}`;
  const secretAccessKey = `secret-${randomBytes(16).toString('hex')}`;
  const child = spawn(binary, ['--port', `127.0.0.1:${port}`, '--quiet', 'posix', dir], {
    env: { PATH: process.env.PATH ?? '', ROOT_ACCESS_KEY: accessKeyId, ROOT_SECRET_KEY: secretAccessKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(endpoint, child, () => output);
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    return {
      endpoint,
      bucket,
      accessKeyId,
      secretAccessKey,
      dir,
      env: { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: 'us-east-1' },
      client,
      stop: async () => {
        client.destroy();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
