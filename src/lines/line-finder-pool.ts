/**
 * Finding and normalizing the lines of image files on worker threads, in
 * order, a window of files ahead of the reader. Decoding an image and
 * normalizing its lines costs about a third of what the network does per line;
 * on the workers it overlaps loading tfjs and the model, and the network's
 * passes, instead of running between them on the main thread.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { GrayImage } from '../data/framing.js';
import type { LineModelMeta } from './line-model-artifact.js';
import type { linesOf } from './page-reader.js';

export interface LineFinderTask {
  file: string;
  layout: 'auto' | 'line' | 'page';
  model: Pick<LineModelMeta, 'height' | 'erase_rules' | 'rule_erasure'>;
}

export type FoundLines = { size: Pick<GrayImage, 'width' | 'height'>; lines: ReturnType<typeof linesOf> } | { error: string };

/** Files being worked on ahead of the one the reader waits for: enough to keep every worker busy, few enough to bound memory. */
const WINDOW = 32;

const here = import.meta.url;
// From dist the worker is compiled JavaScript; from the TypeScript sources (tests) it is loaded through tsx.
const fromSource = here.endsWith('.ts');

export interface LineFinder {
  /** Each file's lines, in the order the files were given. */
  results(): AsyncGenerator<[file: string, found: FoundLines]>;
  close(): Promise<void>;
}

/** Starts working on the first files at once, so the work overlaps whatever the caller does before it asks for results. */
export function startFindingLines(files: readonly string[], options: Omit<LineFinderTask, 'file'>, threads = Math.max(1, Math.min(4, availableParallelism()))): LineFinder {
  const workers = Math.max(1, Math.min(threads, files.length));
  const pool = new Piscina<LineFinderTask, FoundLines>({
    filename: new URL(`./find-lines-worker.${fromSource ? 'ts' : 'js'}`, here).href,
    minThreads: workers,
    maxThreads: workers,
    ...(fromSource ? { execArgv: ['--import', 'tsx'] } : {}),
  });
  const started: (Promise<FoundLines> | undefined)[] = [];
  const start = (i: number) => {
    if (i >= files.length) return;
    const run = pool.run({ file: files[i]!, ...options });
    // Awaited in order by results(); until then a failure must not count as unhandled.
    run.catch(() => undefined);
    started[i] = run;
  };
  for (let i = 0; i < WINDOW; i++) start(i);
  return {
    async *results() {
      for (let i = 0; i < files.length; i++) {
        const found = await started[i]!;
        started[i] = undefined;
        start(i + WINDOW);
        yield [files[i]!, found];
      }
    },
    close: () => pool.destroy(),
  };
}
