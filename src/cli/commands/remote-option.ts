/** `--remote <name>`: the remote cache a command uses (none until the workspace configures one). */
import type { RemoteCache } from '../../engine/remote-cache.js';
import { UsageError } from '../../errors.js';

export async function remoteFromArgs(_workspace: string, name: string | undefined, command: string): Promise<RemoteCache | undefined> {
  if (name !== undefined) throw new UsageError(`${command}: --remote ${name}: remote caches are not configured in this version`);
  return undefined;
}
