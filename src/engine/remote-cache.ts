/**
 * What the executor needs from a shared cache beyond this machine. The engine knows
 * only this interface; the S3 implementation (signing, transfers) lives in src/remote.
 */
import type { ArtifactStore } from './store.js';

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
