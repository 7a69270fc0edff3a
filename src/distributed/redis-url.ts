/** Redis URLs as users give them (`redis://[:password@]host:port[/db]`), and as shown: without the password. */
import { UsageError } from '../errors.js';

export const REDIS_URL_ENV = 'INKFLOW_REDIS_URL';

/** The URL from --redis, else INKFLOW_REDIS_URL; a usage error naming both when neither is set or it does not parse. */
export function redisUrlFrom(flag: string | undefined, command: string, env: NodeJS.ProcessEnv = process.env): string {
  const url = flag ?? env[REDIS_URL_ENV];
  if (!url) throw new UsageError(`${command}: name the Redis server: --redis redis://host:6379 (or set ${REDIS_URL_ENV})`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${command}: "${redactRedisUrl(url)}" is not a Redis URL; write it as redis://host:6379`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new UsageError(`${command}: "${redactRedisUrl(url)}" is not a Redis URL (redis:// or rediss://)`);
  return url;
}

/** The URL with any user name and password replaced, for messages and records. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)[^@/]*@/, '$1***@');
}
