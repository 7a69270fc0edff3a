/**
 * The objects of one remote in its bucket, through the AWS SDK v3: small typed calls
 * (get, head, put, upload, list, delete) with S3 and network failures turned into one
 * line a user can act on. Credentials come only from the SDK's standard chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...); inkflow never sees them.
 */
import type { Readable } from 'node:stream';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { RemoteUnavailableError } from '../engine/remote-cache.js';
import { UserInputError } from '../errors.js';
import type { RemoteLocation } from './config.js';

// inkflow supports the Node versions package.json names; the SDK's notice about its own future
// Node support is for inkflow's maintainers (who pin the SDK), not for every run's stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Blobs at least this big go up in parts, several at once; smaller ones in one request. */
export const PART_SIZE = 8 * 1024 * 1024;

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export class S3Objects {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  /** `remote "name" (s3://bucket/prefix at endpoint)`: how messages name this remote. */
  readonly description: string;

  constructor(readonly location: RemoteLocation) {
    this.bucket = location.bucket;
    this.prefix = location.prefix;
    this.description = `remote "${location.name}" (s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}${location.endpoint ? ` at ${location.endpoint}` : ''})`;
    this.client = new S3Client({
      ...(location.endpoint ? { endpoint: location.endpoint } : {}),
      region: location.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: location.path_style ?? false,
      // An unreachable endpoint fails within seconds instead of hanging a run.
      requestHandler: { connectionTimeout: 5000, socketTimeout: 60_000 },
      maxAttempts: 3,
    });
  }

  /** Full object key of a path relative to the remote's prefix. */
  objectKey(path: string): string {
    return this.prefix ? `${this.prefix}/${path}` : path;
  }

  /** Relative path of a full object key (the inverse of objectKey). */
  relativePath(objectKey: string): string {
    return this.prefix ? objectKey.slice(this.prefix.length + 1) : objectKey;
  }

  url(path: string): string {
    return `s3://${this.bucket}/${this.objectKey(path)}`;
  }

  async getText(path: string, signal?: AbortSignal): Promise<string | undefined> {
    const body = await this.getStream(path, signal);
    if (!body) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of body.stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** The object's content as a stream with its length; undefined when there is no such object. */
  async getStream(path: string, signal?: AbortSignal): Promise<{ stream: Readable; size: number } | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(path) }), { abortSignal: signal });
      return { stream: out.Body as Readable, size: out.ContentLength ?? -1 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.describe(err, `reading ${this.url(path)}`);
    }
  }

  async head(path: string, signal?: AbortSignal): Promise<{ size: number } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(path) }), { abortSignal: signal });
      return { size: out.ContentLength ?? -1 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.describe(err, `checking ${this.url(path)}`);
    }
  }

  async putText(path: string, text: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(path), Body: text, ContentType: 'application/json' }), { abortSignal: signal });
    } catch (err) {
      throw this.describe(err, `writing ${this.url(path)}`);
    }
  }

  /** Uploads a stream of known size: one request when small, parts several at once when large. */
  async upload(path: string, body: Readable, size: number, onBytes: (loaded: number) => void, signal?: AbortSignal): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(path), Body: body, ContentLength: size },
      partSize: PART_SIZE,
      queueSize: 4,
      leavePartsOnError: false,
      ...(signal ? { abortController: abortControllerFor(signal) } : {}),
    });
    upload.on('httpUploadProgress', (p) => onBytes(p.loaded ?? 0));
    try {
      await upload.done();
    } catch (err) {
      throw this.describe(err, `uploading ${this.url(path)}`);
    }
  }

  /** Every object under a path prefix, page by page. */
  async *list(pathPrefix: string, signal?: AbortSignal): AsyncGenerator<ObjectInfo> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.objectKey(pathPrefix), ContinuationToken: token }), { abortSignal: signal });
      } catch (err) {
        throw this.describe(err, `listing ${this.url(pathPrefix)}`);
      }
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: this.relativePath(object.Key), size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(paths: readonly string[], signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < paths.length; i += 1000) {
      const batch = paths.slice(i, i + 1000);
      try {
        const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((p) => ({ Key: this.objectKey(p) })), Quiet: true } }), { abortSignal: signal });
        const failed = out.Errors ?? [];
        if (failed.length) throw new UserInputError(`${this.description}: could not delete ${failed.length} object(s), e.g. ${failed[0]?.Key}: ${failed[0]?.Message ?? failed[0]?.Code}`);
      } catch (err) {
        if (err instanceof UserInputError) throw err;
        throw this.describe(err, `deleting from ${this.url('')}`);
      }
    }
  }

  /** One line naming this remote, what was being done, and what to do about it. */
  describe(err: unknown, doing: string): Error {
    if (err instanceof UserInputError || (err as Error)?.name === 'AbortError') return err as Error;
    const e = err as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
    const network = networkCode(e);
    if (network) {
      return new RemoteUnavailableError(`${this.description}: cannot reach ${this.location.endpoint ?? 'S3'} (${network}) while ${doing}; check the endpoint and your network`);
    }
    if (e.name === 'CredentialsProviderError' || /credential/i.test(e.message ?? '') && !(err instanceof S3ServiceException)) {
      return new RemoteUnavailableError(`${this.description}: no AWS credentials found while ${doing}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE`);
    }
    const status = e.$metadata?.httpStatusCode;
    if (e.name === 'NoSuchBucket') return new RemoteUnavailableError(`${this.description}: bucket "${this.bucket}" does not exist; create it, or fix the URL with \`inkflow remote add ${this.location.name} s3://bucket/prefix\``);
    if (status === 403 || ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch'].includes(e.name)) {
      return new RemoteUnavailableError(`${this.description}: access denied while ${doing} (${e.name}); check the AWS credentials in your environment or profile`);
    }
    return new UserInputError(`${this.description}: ${doing} failed: ${e.name}${status ? ` (HTTP ${status})` : ''}: ${e.message}`);
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404 && e?.name !== 'NoSuchBucket';
}

const NETWORK_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE'];

function networkCode(err: Error & { code?: string; cause?: unknown; errors?: unknown[] }): string | undefined {
  if (err.code && NETWORK_CODES.includes(err.code)) return err.code;
  if (err.name === 'TimeoutError') return 'timed out';
  for (const inner of [err.cause, ...(err.errors ?? [])]) {
    if (inner && typeof inner === 'object') {
      const found = networkCode(inner as Error);
      if (found) return found;
    }
  }
  return undefined;
}

function abortControllerFor(signal: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal.aborted) controller.abort();
  else signal.addEventListener('abort', () => controller.abort(), { once: true });
  return controller;
}
