/** What the queue holds and what each live worker is running, read from Redis. */
import { Queue } from 'bullmq';
import { commandClient, connectionOptions, connectOrExplain } from './connection.js';
import { PREFIX, QUEUE, WORKER_KEY_PATTERN, type WorkerInfo } from './protocol.js';

export interface QueueStatus {
  counts: { waiting: number; active: number; delayed: number; failed: number; completed: number };
  workers: WorkerInfo[];
}

export async function queueStatus(redisUrl: string): Promise<QueueStatus> {
  const client = commandClient(redisUrl);
  await connectOrExplain(client, redisUrl);
  const queue = new Queue(QUEUE, { prefix: PREFIX, connection: connectionOptions(redisUrl, false) });
  queue.on('error', () => undefined);
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    const workers: WorkerInfo[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', WORKER_KEY_PATTERN, 'COUNT', 100);
      cursor = next;
      for (const value of keys.length ? await client.mget(...keys) : []) {
        if (value) workers.push(JSON.parse(value) as WorkerInfo);
      }
    } while (cursor !== '0');
    workers.sort((a, b) => a.id.localeCompare(b.id));
    return {
      counts: { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0, completed: counts.completed ?? 0 },
      workers,
    };
  } finally {
    await Promise.all([queue.close(), client.quit()]).catch(() => undefined);
  }
}
