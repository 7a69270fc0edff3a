/**
 * The experiment queue: one JSON file per workspace, changed only under a
 * cross-process lock and replaced atomically. A worker that dies leaves its items
 * "running" under a dead pid; the next claim puts them back in the queue.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processAlive, withLock } from '../engine/locks.js';
import { newRunId } from '../engine/run-record.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/fs.js';
import type { MedianStopRule, Variant } from './sweep.js';

export type QueueStatus = 'queued' | 'running' | 'ok' | 'failed' | 'stopped' | 'cancelled';

export interface QueueItem {
  id: string;
  pipeline: string;
  sweep: string;
  order: number;
  variant: Variant;
  stopRule?: MedianStopRule;
  status: QueueStatus;
  queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  worker?: { pid: number; host: string };
  runId?: string;
  reason?: string;
  /** Times a worker took it up (more than one after a worker died). */
  attempts: number;
  cancelRequested?: boolean;
}

export type NewItem = Pick<QueueItem, 'pipeline' | 'sweep' | 'order' | 'variant' | 'stopRule'>;

export class ExperimentQueue {
  readonly file: string;

  constructor(workspace: string) {
    this.file = join(workspace, '.inkflow', 'queue.json');
  }

  list(): Promise<QueueItem[]> {
    return this.read();
  }

  async add(items: NewItem[]): Promise<QueueItem[]> {
    const added = items.map((item, i) => ({ ...item, id: `${newRunId()}-${i}`, status: 'queued' as const, queuedAt: new Date().toISOString(), attempts: 0 }));
    await this.update((all) => [...all, ...added]);
    return added;
  }

  /** Takes the oldest queued item for this process, after returning dead workers' items to the queue. */
  async claim(): Promise<QueueItem | undefined> {
    let claimed: QueueItem | undefined;
    await this.update((all) => {
      for (const item of all) {
        if (item.status === 'running' && item.worker && item.worker.host === hostname() && !processAlive(item.worker.pid)) {
          Object.assign(item, { status: 'queued', reason: `worker ${item.worker.pid} died; queued again` });
          delete item.worker;
        }
      }
      claimed = all.find((i) => i.status === 'queued');
      if (claimed) Object.assign(claimed, { status: 'running', startedAt: new Date().toISOString(), worker: { pid: process.pid, host: hostname() }, attempts: claimed.attempts + 1 });
      return all;
    });
    return claimed;
  }

  async finish(id: string, fields: Pick<QueueItem, 'status'> & Partial<Pick<QueueItem, 'runId' | 'reason'>>): Promise<void> {
    await this.update((all) => all.map((i) => {
      if (i.id !== id) return i;
      const { worker: _, ...rest } = i;
      if (fields.status === 'queued') return { ...rest, status: 'queued', reason: fields.reason };
      return { ...rest, ...fields, finishedAt: new Date().toISOString() };
    }));
  }

  /** Queued items are cancelled at once; running ones are flagged and their worker stops them. */
  async cancel(ids: string[] | 'all'): Promise<QueueItem[]> {
    const touched: QueueItem[] = [];
    await this.update((all) => all.map((i) => {
      const selected = ids === 'all' || ids.some((id) => i.id === id || i.id.startsWith(id) || i.sweep === id);
      if (!selected) return i;
      if (i.status === 'queued') {
        touched.push(i);
        return { ...i, status: 'cancelled', finishedAt: new Date().toISOString(), reason: 'cancelled before it started' };
      }
      if (i.status === 'running') {
        touched.push(i);
        return { ...i, cancelRequested: true };
      }
      return i;
    }));
    return touched;
  }

  private async read(): Promise<QueueItem[]> {
    return (await readJsonIfExists<QueueItem[]>(this.file)) ?? [];
  }

  private update(change: (items: QueueItem[]) => QueueItem[]): Promise<void> {
    return withLock(this.file, async () => {
      await writeJsonAtomic(this.file, change(await this.read()));
    });
  }
}
