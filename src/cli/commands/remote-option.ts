/** `--remote <name>`: the remote cache a command uses: the one named, else the workspace's default_remote, else none. */
import type { RemoteCache } from '../../engine/remote-cache.js';

export async function remoteFromArgs(workspace: string, name: string | undefined, command: string, options: { readOnly?: boolean } = {}): Promise<RemoteCache | undefined> {
  // Loaded only here: the AWS SDK costs nothing to commands and runs without a remote.
  const { openRemoteCache } = await import('../../remote/open.js');
  const opened = await openRemoteCache(workspace, { name, readOnly: options.readOnly });
  if (opened?.readOnlyBecause) process.stderr.write(`inkflow: ${command}: warning: ${opened.readOnlyBecause}\n`);
  return opened?.cache;
}
