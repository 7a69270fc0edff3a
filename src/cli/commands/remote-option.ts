/**
 * `--remote <name>`: the remote cache a command uses: the one named, else the workspace's
 * default_remote, else none. Read-only when asked, or when INKFLOW_REMOTE_READ_ONLY=1 says
 * so for every command of an untrusted job (a pull request's CI, sweeps and all).
 */
import type { RemoteCache } from '../../engine/remote-cache.js';

export async function remoteFromArgs(workspace: string, name: string | undefined, command: string, options: { readOnly?: boolean } = {}): Promise<RemoteCache | undefined> {
  // Loaded only here: the AWS SDK costs nothing to commands and runs without a remote.
  const { openRemoteCache } = await import('../../remote/open.js');
  const readOnly = options.readOnly || process.env.INKFLOW_REMOTE_READ_ONLY === '1';
  const opened = await openRemoteCache(workspace, { name, readOnly });
  if (opened?.readOnlyBecause) process.stderr.write(`inkflow: ${command}: warning: ${opened.readOnlyBecause}\n`);
  return opened?.cache;
}
