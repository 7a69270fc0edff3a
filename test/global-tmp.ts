/**
 * Every test (and every process it starts) makes its temporary folders inside one
 * folder per `npm test`, removed when the run ends: test workspaces hold trained
 * models and stores, and thousands of them filled the disk when each was left behind.
 * INKFLOW_KEEP_TEST_TMP=1 keeps it for a look afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'inkflow-tests-'));
  // Test workers are forked after this, so they and their children inherit it; os.tmpdir() reads TMPDIR.
  process.env.TMPDIR = root;
  return () => {
    if (process.env.INKFLOW_KEEP_TEST_TMP === '1') {
      process.stderr.write(`test temporary files kept in ${root}\n`);
      return;
    }
    rmSync(root, { recursive: true, force: true });
  };
}
