/**
 * Reading an uploaded line or page image on the server with `inkflow read` in a
 * child process: a CTC line model reads lines (finding them first on a page);
 * a letter model segments the phrase and reads it letter by letter.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageDimensions } from '../data/images.js';

const CLI = fileURLToPath(new URL('../../../bin/inkflow.js', import.meta.url));

export interface LineReading {
  reader: 'line model (CTC)' | 'segmentation + letter model';
  text: string;
  lines: string[];
}

export class ReadError extends Error {}

export async function readUpload(workspace: string, model: { path: string; type: 'letters' | 'line' }, bytes: Uint8Array): Promise<LineReading> {
  if (!imageDimensions(bytes)) throw new ReadError('not a PNG or JPEG image');
  const dir = await mkdtemp(join(tmpdir(), 'inkflow-ui-read-'));
  try {
    const file = join(dir, bytes[0] === 0x89 ? 'upload.png' : 'upload.jpg');
    await writeFile(file, bytes);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [CLI, 'read', '--model', model.path, file, '--json'], { cwd: workspace, maxBuffer: 1 << 24, timeout: 180_000 }, (err, out, errText) => {
        if (err) reject(new ReadError(errText.trim().split('\n').pop()?.replace(/^inkflow: /, '').replaceAll(file, 'the image') || err.message));
        else resolve(out);
      });
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { text?: string; lines?: { text: string }[] };
    if (model.type === 'line') {
      const lines = (result.lines ?? []).map((l) => l.text);
      return { reader: 'line model (CTC)', text: lines.join('\n'), lines };
    }
    return { reader: 'segmentation + letter model', text: result.text ?? '', lines: [result.text ?? ''] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
