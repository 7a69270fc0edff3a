/**
 * Cross-process locks: short read-modify-write sections use proper-lockfile (kept
 * fresh while held, taken over once stale); locks held for as long as a stage runs
 * are owned by a pid instead, since a busy stage cannot keep a lock fresh.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';

export type Release = () => Promise<void>;

/**
 * A long-held lock on `file` (which need not exist): `<file>.lock/` made by an atomic
 * mkdir, with the holder's pid inside. It stays held however long the holder's
 * event loop is blocked (heavy stages block it for minutes), and is taken over
 * only once the holder process is gone. Polls so that `signal` can end the wait;
 * `onWait` is called once if the lock is busy.
 */
export async function acquireLock(file: string, options: { signal?: AbortSignal; onWait?: () => void; pollMs?: number } = {}): Promise<Release> {
  const dir = `${file}.lock`;
  await mkdir(dirname(file), { recursive: true });
  let waited = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, host: hostname() }));
      return async () => {
        await rm(dir, { recursive: true, force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await holderGone(dir)) {
      // Takeovers are serialised, and each re-reads the owner, so a live holder's fresh lock is never removed.
      await withLock(`${file}.takeover`, async () => {
        if (await holderGone(dir)) {
          const doomed = `${dir}.dead.${process.pid}.${Date.now()}`;
          await rename(dir, doomed).catch(() => undefined);
          await rm(doomed, { recursive: true, force: true });
        }
      });
      continue;
    }
    if (!waited) options.onWait?.();
    waited = true;
    await sleep(options.pollMs ?? 200, options.signal);
  }
}

/** The lock's holder died (same machine), or it never wrote its owner file and the lock is old. */
async function holderGone(dir: string): Promise<boolean> {
  try {
    const owner = JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8')) as { pid: number; host: string };
    return owner.host === hostname() && !processAlive(owner.pid);
  } catch {
    const info = await stat(dir).catch(() => undefined);
    return !!info && Date.now() - info.mtimeMs > 10_000;
  }
}

/** Runs `fn` while holding the lock on `file`: for short read-modify-write sections. */
export async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(file), { recursive: true });
  let release: () => Promise<void>;
  for (;;) {
    try {
      release = await lockfile.lock(file, { realpath: false, stale: 10_000, retries: 0, onCompromised: () => undefined });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      await sleep(10 + Math.random() * 20);
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Whether a process with this id is still alive on this machine. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
