/**
 * Worker-thread entry for `inkflow read`: one image file in, its normalized
 * lines out (see line-finder-pool.ts). A user's mistake in the file comes back
 * as a message rather than a throw, so the reader reports it and goes on.
 */
import { readGrayImage } from '../data/images.js';
import { UserInputError } from '../errors.js';
import { linesOf, looksLikePage } from './page-reader.js';
import type { FoundLines, LineFinderTask } from './line-finder-pool.js';

export default async function findLines(task: LineFinderTask): Promise<FoundLines> {
  try {
    const img = await readGrayImage(task.file);
    const mode = task.layout === 'auto' ? (looksLikePage(img) ? 'page' : 'line') : task.layout;
    const lines = linesOf(img, task.model, mode, task.file);
    if (!lines.length) throw new UserInputError(`${task.file}: no text lines found on this page; is it blank, or a single line (try --layout line)?`);
    return { size: { width: img.width, height: img.height }, lines };
  } catch (err) {
    if (err instanceof UserInputError) return { error: err.message };
    throw err;
  }
}
