import { cp, mkdtemp, writeFile, mkdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { zipSync } from 'fflate';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'bin', 'inkflow.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const DATA_DIR = resolve(process.env.INKFLOW_DATA_DIR ?? join(ROOT, '..', 'shared', 'data'));

/**
 * A fresh workspace with the fixture stage modules under ./stages, and inkflow
 * installed as a project would have it (node_modules/inkflow), so those stages
 * import `inkflow/stage-api` like any project's own stage.
 */
export async function workspace(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'inkflow-test-'));
  await cp(join(FIXTURES, 'stages'), join(dir, 'stages'), { recursive: true });
  await mkdir(join(dir, 'node_modules'));
  await symlink(ROOT, join(dir, 'node_modules', 'inkflow'), 'dir');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

export function inkflow(cwd: string, args: string[], env: Record<string, string> = {}): ResultPromise<{ cwd: string; reject: false; env: Record<string, string>; all: true }> {
  return execa('node', [CLI, ...args], { cwd, reject: false, env: { INKFLOW_DATA_DIR: DATA_DIR, CI: '1', ...env }, all: true });
}

export interface Summary {
  event: 'summary';
  ok: boolean;
  runId: string;
  stages: Record<string, { status: string; key: string; seconds: number }>;
}

/** Runs with --json and returns the summary event plus all events. */
export async function runJson(cwd: string, args: string[], env: Record<string, string> = {}) {
  const result = await inkflow(cwd, ['run', ...args, '--json'], env);
  const events = result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const summary = events.find((e) => e.event === 'summary') as Summary | undefined;
  if (!summary) throw new Error(`no summary; exit ${result.exitCode}\n${result.all}`);
  return { result, events, summary, statuses: Object.fromEntries(Object.entries(summary.stages).map(([k, v]) => [k, v.status])) };
}


/** An .npz archive of .npy members (stored, or deflated with `compress`), as numpy.savez writes them. */
export function encodeNpz(members: Record<string, Uint8Array>, compress = false): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(members).map(([k, v]) => [`${k}.npy`, [v, { level: compress ? 6 : 0 }]])));
}

/** A four-stage diamond of the fixture stage (a → b, c → d) with a pipeline param and a data file param. */
export const DEMO_PIPELINE = `name: demo
params: { greeting: hello }
stages:
  a:
    uses: ./stages/emit.ts
    params: { text: "\${params.greeting}" }
  b:
    uses: ./stages/emit.ts
    inputs: { upstream: a.text }
    params: { text: b }
  c:
    uses: ./stages/emit.ts
    params: { text: c, data: data.txt }
  d:
    uses: ./stages/emit.ts
    inputs: { upstream: b.text, other: c.text }
    params: { text: d }
`;
