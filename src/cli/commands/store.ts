import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { workspacePaths } from '../../engine/workspace.js';
import { listRuns } from '../../engine/run-record.js';
import { ArtifactStore } from '../../engine/store.js';
import { formatBytes } from '../../util/text.js';
import { integerOption, parseCommandArgs } from '../args.js';
import { workspaceRoot } from './common.js';

export async function verifyCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('verify', args, {}, 'usage: inkflow verify\n\nRe-hashes every artifact in the store and reports missing or changed files. Exits 1 if any.');
  if (!parsed) return 0;
  const store = new ArtifactStore(workspacePaths(workspaceRoot()).artifacts);
  let checked = 0;
  const problems = await store.verify(() => {
    checked++;
    if (process.stderr.isTTY) process.stderr.write(`\rverifying ${checked} artifacts…`);
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  for (const p of problems) process.stdout.write(`${p}\n`);
  process.stdout.write(problems.length ? `${problems.length} problem(s) in ${checked} artifacts; rerun the affected stages with --force after removing them (inkflow gc removes unreferenced ones)\n` : `${checked} artifacts verified, no corruption\n`);
  return problems.length ? 1 : 0;
}

const GC_HELP = `usage: inkflow gc [--keep <n>] [--dry-run]

Removes artifacts that none of the last <n> runs (default 5) of each pipeline used,
run records older than those, and staging leftovers of killed runs.`;

export async function gcCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('gc', args, { keep: { type: 'string', default: '5' }, 'dry-run': { type: 'boolean' } }, GC_HELP);
  if (!parsed) return 0;
  const keep = integerOption('gc', 'keep', parsed.values.keep) ?? 5;
  const paths = workspacePaths(workspaceRoot());
  const store = new ArtifactStore(paths.artifacts);
  const runs = await listRuns(paths.runs);
  const byPipeline = new Map<string, typeof runs>();
  for (const run of runs) byPipeline.set(run.pipeline, [...(byPipeline.get(run.pipeline) ?? []), run]);
  const kept = new Set<string>();
  const dropRuns: string[] = [];
  for (const list of byPipeline.values()) {
    // Not slice(-keep): slice(-0) is the whole list, and --keep 0 must keep none.
    const firstKept = Math.max(0, list.length - keep);
    list.slice(firstKept).forEach((r) => kept.add(r.runId));
    list.slice(0, firstKept).forEach((r) => dropRuns.push(r.runId));
  }
  const liveKeys = new Set(runs.filter((r) => kept.has(r.runId)).flatMap((r) => Object.values(r.stages).map((s) => s.key).filter(Boolean) as string[]));
  let freed = 0;
  let removed = 0;
  for await (const manifest of store.manifests()) {
    if (liveKeys.has(manifest.key)) continue;
    freed += Object.values(manifest.outputs).flatMap((o) => Object.values(o.files)).reduce((n, f) => n + f.size, 0);
    removed++;
    if (!parsed.values['dry-run']) await store.remove(manifest.key);
  }
  if (!parsed.values['dry-run']) {
    for (const id of dropRuns) await rm(join(paths.runs, id), { recursive: true, force: true });
    await store.cleanStaging(60 * 60 * 1000);
  }
  process.stdout.write(`${parsed.values['dry-run'] ? 'would remove' : 'removed'} ${removed} artifact(s), ${formatBytes(freed)}, and ${dropRuns.length} old run record(s); kept the last ${keep} run(s) of ${byPipeline.size} pipeline(s)\n`);
  return 0;
}
