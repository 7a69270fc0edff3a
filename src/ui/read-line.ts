/**
 * Reading an uploaded line or page image on the server. Today this runs
 * `inkflow read` (segmentation + the letter model) in a child process.
 *
 * HOOK for the line model (CTC), which is being built on main: when a line
 * model exists, `readLine` should prefer it (pass its folder as `model` and
 * call its reader here); the playground already shows whichever reader answered.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageDimensions } from '../data/images.js';

const CLI = fileURLToPath(new URL('../../../bin/inkflow.js', import.meta.url));

export interface LineReading {
  reader: 'segment+letters' | 'line-ctc';
  text: string;
  characters?: { letter: string; confidence: number }[];
}

export class ReadError extends Error {}

export async function readLine(workspace: string, modelPath: string, bytes: Uint8Array): Promise<LineReading> {
  const size = imageDimensions(bytes);
  if (!size) throw new ReadError('not a PNG or JPEG image');
  const dir = await mkdtemp(join(tmpdir(), 'inkflow-ui-read-'));
  try {
    const file = join(dir, bytes[0] === 0x89 ? 'upload.png' : 'upload.jpg');
    await writeFile(file, bytes);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [CLI, 'read', '--model', modelPath, file, '--json'], { cwd: workspace, maxBuffer: 1 << 24, timeout: 120_000 }, (err, out, errText) => {
        if (err) reject(new ReadError(errText.trim().split('\n').pop() || err.message));
        else resolve(out);
      });
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { text: string; characters?: { letter: string; confidence: number }[] };
    return { reader: 'segment+letters', text: result.text, characters: result.characters?.map((c) => ({ letter: c.letter, confidence: c.confidence })) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
