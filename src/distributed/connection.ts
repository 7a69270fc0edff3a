/**
 * Connections to Redis that never leave a run hanging: every command has a deadline,
 * reconnects are retried quickly, and a watcher says when Redis has been out of reach
 * for longer than the caller accepts, so the caller can fail with a message instead.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { UserInputError } from '../errors.js';
import { redactRedisUrl } from './redis-url.js';

/** ioredis options from a URL, for BullMQ to make its own connections with. */
export function connectionOptions(url: string, blocking: boolean): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    connectTimeout: 5000,
    // Reconnect every half second at most: an outage ends as soon as Redis is back.
    retryStrategy: (times: number) => Math.min(100 * times, 500),
    // BullMQ's blocking connections must wait for ever; ours give up so nothing hangs.
    maxRetriesPerRequest: blocking ? null : 1,
    ...(blocking ? {} : { commandTimeout: 5000 }),
  };
}

/** A plain client for our own commands (publish, scan, exists), with deadlines; `failFast`: no queueing while disconnected. */
export function commandClient(url: string, failFast = false): Redis {
  const client = new Redis({ ...connectionOptions(url, false), lazyConnect: true, ...(failFast ? { enableOfflineQueue: false, commandTimeout: 1000 } : {}) });
  client.on('error', () => undefined); // reported by the health watch, not as unhandled events
  return client;
}

/** Connects, or fails with a message naming the server and what to do. */
export async function connectOrExplain(client: Redis, url: string): Promise<void> {
  // The socket's own error (ECONNREFUSED, NOAUTH) says more than the rejection ("Connection is closed.").
  let cause: Error | undefined;
  const onError = (err: Error) => {
    cause ??= err;
  };
  client.on('error', onError);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw new UserInputError(`cannot reach Redis at ${redactRedisUrl(url)}: ${(cause ?? (err as Error)).message}; start it (\`redis-server\`, see scripts/install-services.sh) or fix --redis / INKFLOW_REDIS_URL`);
  } finally {
    client.off('error', onError);
  }
}

/**
 * Pings Redis every `everyMs`; calls `onLost` once it has not answered for `timeoutMs`,
 * and `onBack` when it answers again after having missed a ping (it may have restarted empty).
 */
export function watchHealth(client: Redis, options: { timeoutMs: number; everyMs?: number; onLost: (downForMs: number, lastError: string) => void; onBack: () => void }) {
  let lastOk = Date.now();
  let missed = false;
  let lastError = 'no answer';
  let lost = false;
  const onError = (err: Error) => {
    lastError = err.message;
  };
  client.on('error', onError);
  const timer = setInterval(() => {
    client.ping().then(() => {
      lastOk = Date.now();
      if (missed) {
        missed = false;
        options.onBack();
      }
    }, () => {
      missed = true;
      const down = Date.now() - lastOk;
      if (down >= options.timeoutMs && !lost) {
        lost = true;
        options.onLost(down, lastError);
      }
    });
  }, options.everyMs ?? 500);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      client.off('error', onError);
    },
  };
}

/** Resolves with `promise`, or rejects after `ms` with `message`: no Redis call may wait for ever. */
export function withDeadline<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UserInputError(message())), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
