/**
 * What the executor needs from a shared cache beyond this machine. The engine knows
 * only this interface; the S3 implementation (signing, transfers) lives in src/remote.
 */
import type { EventSink } from './events.js';
import type { ArtifactStore, Manifest } from './store.js';
import { UserInputError, describeError } from '../errors.js';

/**
 * The remote cannot be used at all: unreachable, credentials missing or refused, no such
 * bucket. The message names it; a run says so once and carries on without it.
 */
export class RemoteUnavailableError extends UserInputError {
  override name = 'RemoteUnavailableError';
}

export interface RemoteTransferOptions {
  signal?: AbortSignal;
  /** A one-line progress report (bytes and files so far), for anything that takes more than a moment. */
  onProgress?: (message: string) => void;
}

export interface RemoteCache {
  /** Where the cache lives, for messages: e.g. `remote "team" (s3://bucket/prefix)`. */
  readonly description: string;
  /** False in read-only mode (untrusted contexts such as pull requests): `publish` is never called. */
  readonly writable: boolean;
  /**
   * Downloads the result for `key` into `store` when the remote holds a trusted one.
   * Resolves true once the result is published in `store`, false when the remote has none.
   * Rejects (and stores nothing) when the remote's result cannot be trusted or reached.
   */
  fetch(key: string, store: ArtifactStore, options?: RemoteTransferOptions): Promise<boolean>;
  /** Uploads the result for `key` from `store`; content the remote already has is not sent again. */
  publish(key: string, store: ArtifactStore, options?: RemoteTransferOptions): Promise<void>;
}

/** Downloads the result for `key` into `store`: its manifest there, or undefined when the remote has none. */
export async function fetchResult(remote: RemoteCache, key: string, store: ArtifactStore, options?: RemoteTransferOptions): Promise<Manifest | undefined> {
  return (await remote.fetch(key, store, options)) ? store.lookup(key) : undefined;
}

/**
 * One run's traffic with a remote cache: a stage missing locally is fetched, a stage
 * computed here is uploaded in the background (downstream stages do not wait for it,
 * the run record does). A remote that fails is a warning and the local cache carries
 * on; after it is found unreachable it is not asked again in this run.
 */
export class RemoteRunSync {
  private readonly uploads: Promise<void>[] = [];
  private unreachable = false;

  constructor(
    private readonly remote: RemoteCache,
    private readonly store: ArtifactStore,
    private readonly emit: EventSink,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** True once the remote's result for `key` is in the local store. */
  async fetch(stage: string, key: string): Promise<boolean> {
    if (this.unreachable) return false;
    try {
      return await this.remote.fetch(key, this.store, { signal: this.signal, onProgress: this.progress(stage) });
    } catch (err) {
      if (this.signal?.aborted) throw err;
      this.warn(stage, err, 'computing it here instead');
      return false;
    }
  }

  /** Starts uploading a result this run computed, when the remote may be written. */
  publish(stage: string, key: string): void {
    if (!this.remote.writable || this.unreachable) return;
    this.uploads.push(this.remote.publish(key, this.store, { signal: this.signal, onProgress: this.progress(stage) }).then(
      () => this.emit({ event: 'stage-log', stage, level: 'info', message: `uploaded ${key.slice(0, 12)} to ${this.remote.description}` }),
      (err) => {
        if (!this.signal?.aborted) this.warn(stage, err, 'the result stays in the local cache only');
      },
    ));
  }

  /** Resolves when every upload has finished or failed. */
  async settle(): Promise<void> {
    await Promise.all(this.uploads);
  }

  private progress(stage: string) {
    return (message: string) => this.emit({ event: 'stage-progress', stage, message });
  }

  private warn(stage: string, err: unknown, consequence: string): void {
    if (err instanceof RemoteUnavailableError) {
      // Stages asking at the same time all find it unusable: one warning says so.
      if (this.unreachable) return;
      this.unreachable = true;
      this.emit({ event: 'stage-log', stage, level: 'warn', message: `${err.message}; continuing with the local cache only for the rest of this run` });
      return;
    }
    this.emit({ event: 'stage-log', stage, level: 'warn', message: `${describeError(err)}; ${consequence}` });
  }
}
