/** Builds the S3 remote cache a command asked for, from the workspace's config and the user's signing key. */
import { findRemote, type RemoteLocation } from './config.js';
import type { S3RemoteCache } from './s3-cache.js';
import { loadSigningKey, signingKeyPath } from './signing.js';

export interface OpenRemoteOptions {
  /** A remote named in the config; the config's default_remote when undefined. */
  name?: string;
  /** Never write (pull requests and other untrusted contexts); no signing key is needed. */
  readOnly?: boolean;
  /** Blob transfers at once (default 8). */
  jobs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface OpenedRemote {
  cache: S3RemoteCache;
  location: RemoteLocation;
  /** Why the cache is read-only although nobody asked for that (no signing key), for a warning. */
  readOnlyBecause?: string;
}

/** The remote cache, or undefined when no remote was named and the workspace has no default. */
export async function openRemoteCache(workspace: string, options: OpenRemoteOptions = {}): Promise<OpenedRemote | undefined> {
  const { remote, config } = await findRemote(workspace, options.name);
  if (!remote) return undefined;
  const readOnly = options.readOnly || remote.read_only === true;
  const keyPath = signingKeyPath(options.env);
  const signingKey = readOnly ? undefined : await loadSigningKey(keyPath);
  // The AWS SDK loads only when a remote is in use: runs without one start as fast as before.
  const [{ S3Objects }, { S3RemoteCache }] = await Promise.all([import('./s3-objects.js'), import('./s3-cache.js')]);
  const cache = new S3RemoteCache(new S3Objects(remote), {
    trusted: (config.trusted_keys ?? []).map((k) => k.key),
    signingKey,
    readOnly,
    jobs: options.jobs,
  });
  const readOnlyBecause = !readOnly && !signingKey
    ? `no signing key at ${keyPath}, so nothing is uploaded to ${cache.description}; make one with \`inkflow remote keygen\``
    : undefined;
  return { cache, location: remote, ...(readOnlyBecause ? { readOnlyBecause } : {}) };
}
