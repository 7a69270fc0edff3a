/**
 * Leases between runs and the commands that delete from the store (gc, verify --repair).
 * A run records every key it is about to use in its lease file *before* looking the
 * key up; a deleter takes the store lock *before* reading the leases. So either the
 * deleter sees the key and keeps the object, or the run sees the lock, waits for the
 * deleter to finish, and then finds the object present or absent, never half there.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK = 'store.lock';

export class Leases {
  readonly dir: string;

  constructor(storeRoot: string) {
    this.dir = join(storeRoot, 'leases');
  }

  /** A lease for one run; closed at the end of the run (a killed run's lease is stale once its process is gone). */
  async open(runId: string): Promise<Lease> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${runId}.lease`);
    const fd = openSync(path, 'a');
    writeSync(fd, `${process.pid}\n`);
    return new Lease(this, path, fd);
  }

  /** Waits while a deleter holds the store lock. */
  async waitForDeleter(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const holder = await this.lockHolder();
      if (holder === undefined) return;
      if (signal?.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Takes the store lock for deleting; fails when another live deleter holds it. */
  async lock(what: string): Promise<() => Promise<void>> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, LOCK);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(path, 'wx');
        await handle.writeFile(`${process.pid}\n${what}\n`);
        await handle.close();
        return () => rm(path, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = await this.lockHolder();
        if (holder !== undefined) throw new Error(`the artifact store is locked by ${holder}; wait for it to finish (or remove ${path} if that process is gone)`);
      }
    }
    throw new Error(`could not lock the artifact store (${path})`);
  }

  /** Keys held by runs whose process is alive; stale lease files are removed. */
  async liveKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for (const entry of await readdir(this.dir).catch(() => [] as string[])) {
      if (!entry.endsWith('.lease')) continue;
      const path = join(this.dir, entry);
      const lines = (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean);
      const pid = Number(lines[0]);
      if (!isAlive(pid)) {
        await rm(path, { force: true });
        continue;
      }
      for (const key of lines.slice(1)) keys.add(key);
    }
    return keys;
  }

  private async lockHolder(): Promise<string | undefined> {
    const path = join(this.dir, LOCK);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const [pid, what] = text.split('\n');
    // A lock file still being written has no pid yet: treat it as held.
    if (pid && !isAlive(Number(pid))) {
      await rm(path, { force: true });
      return undefined;
    }
    return `${what || 'a deleter'} (pid ${pid || '?'})`;
  }
}

export class Lease {
  private closed = false;

  constructor(readonly leases: Leases, readonly path: string, private readonly fd: number) {}

  /** Records a key before the run looks it up or publishes it. */
  hold(key: string): void {
    if (!this.closed) writeSync(this.fd, `${key}\n`);
  }

  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    await rm(this.path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
