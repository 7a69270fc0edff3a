/** The status line of long commands: drawn only on a terminal, throttled, and erased before results. */
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { StatusLine } from '../src/cli/status-line.js';

function stream(isTTY: boolean): { out: NodeJS.WriteStream; written: () => string } {
  const s = new PassThrough();
  const chunks: string[] = [];
  s.on('data', (c: Buffer) => chunks.push(c.toString()));
  Object.assign(s, { isTTY });
  return { out: s as unknown as NodeJS.WriteStream, written: () => chunks.join('') };
}

describe('StatusLine', () => {
  it('writes nothing when stderr is not a terminal (pipes, logs, CI)', async () => {
    const { out, written } = stream(false);
    const status = new StatusLine(out, 0);
    status.update('reading 10 lines…', true);
    status.clear();
    await new Promise((r) => setImmediate(r));
    expect(written()).toBe('');
  });

  it('redraws in place at most every interval, and erases itself', async () => {
    const saved = process.env.CI;
    delete process.env.CI;
    try {
      const { out, written } = stream(true);
      const status = new StatusLine(out, 60_000);
      status.update('finding lines: 1/3 files…');
      status.update('finding lines: 2/3 files…'); // within the interval: skipped
      status.update('reading 3 lines…', true);
      status.clear();
      status.clear(); // nothing shown: nothing to erase
      await new Promise((r) => setImmediate(r));
      expect(written()).toBe('\r\x1b[Kfinding lines: 1/3 files…\r\x1b[Kreading 3 lines…\r\x1b[K');
    } finally {
      if (saved !== undefined) process.env.CI = saved;
    }
  });
});
