/**
 * What stages declare they need (`resources: { cpu: 2 }`, `mutex: training`), granted
 * from one ledger file per workspace so that runs in different processes share the
 * machine: two heavy stages do not fight over the cores while light ones overlap.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { processAlive, sleep, withLock, type Release } from './locks.js';
import { readJsonIfExists, uniqueSuffix, writeJsonAtomic } from '../util/fs.js';

export interface ResourceRequest {
  cpu?: number;
  /** Stages naming the same mutex group never run at the same time. */
  mutex?: string;
}

interface Holder {
  id: string;
  pid: number;
  label: string;
  cpu: number;
  mutex?: string;
}

/** Cores the ledger hands out: INKFLOW_CPUS, else the machine's. */
export function cpuCapacity(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.INKFLOW_CPUS);
  return Number.isInteger(n) && n > 0 ? n : availableParallelism();
}

export class ResourceLedger {
  private readonly file: string;

  constructor(locksDir: string, readonly capacity = cpuCapacity()) {
    this.file = join(locksDir, 'resources.json');
  }

  /** Waits until the request fits beside what live holders hold; `onWait` gets who is in the way. */
  async acquire(label: string, request: ResourceRequest, options: { signal?: AbortSignal; onWait?: (blockers: string) => void } = {}): Promise<Release> {
    const cpu = Math.min(request.cpu ?? 0, this.capacity);
    const id = uniqueSuffix();
    let told = false;
    for (;;) {
      options.signal?.throwIfAborted();
      const blockers = await withLock(this.file, async () => {
        const holders = (await this.holders()).filter((h) => processAlive(h.pid));
        const used = holders.reduce((sum, h) => sum + h.cpu, 0);
        const inTheWay = holders.filter((h) => (request.mutex && h.mutex === request.mutex) || (cpu > 0 && used + cpu > this.capacity && h.cpu > 0));
        if (inTheWay.length === 0) holders.push({ id, pid: process.pid, label, cpu, ...(request.mutex ? { mutex: request.mutex } : {}) });
        await writeJsonAtomic(this.file, holders);
        return inTheWay.map((h) => h.label);
      });
      if (blockers.length === 0) break;
      if (!told) options.onWait?.(blockers.join(', '));
      told = true;
      await sleep(200, options.signal);
    }
    return () => withLock(this.file, async () => {
      await writeJsonAtomic(this.file, (await this.holders()).filter((h) => h.id !== id));
    });
  }

  private async holders(): Promise<Holder[]> {
    return (await readJsonIfExists<Holder[]>(this.file)) ?? [];
  }
}
