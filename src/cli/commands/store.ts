import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { workspacePaths } from '../../engine/workspace.js';
import { listRuns, type RunRecord } from '../../engine/run-record.js';
import { ArtifactStore, removeTree, type ObjectProblem } from '../../engine/store.js';
import { Leases } from '../../engine/leases.js';
import { readJson } from '../../util/fs.js';
import { formatBytes } from '../../util/text.js';
import { integerOption, parseCommandArgs } from '../args.js';
import { UsageError, UserInputError } from '../../errors.js';
import { workspaceRoot } from './common.js';
import { StatusLine } from '../status-line.js';

const VERIFY_HELP = `usage: inkflow verify [--repair]

Re-hashes every artifact in the store and reports missing, changed or added files
and damaged manifests. Exits 1 if any.
  --repair   remove the damaged artifacts and rerun the pipelines that made them,
             so each is replaced by a fresh result`;

export async function verifyCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('verify', args, { repair: { type: 'boolean' } }, VERIFY_HELP);
  if (!parsed) return 0;
  const workspace = workspaceRoot();
  const paths = workspacePaths(workspace);
  const store = new ArtifactStore(paths.artifacts);
  let problems = await verifyStore(store);
  if (!problems.length || !parsed.values.repair) return problems.length ? 1 : 0;

  let damaged = [...new Set(problems.map((p) => p.key))];
  const leases = new Leases(store.root);
  const unlock = await leases.lock('inkflow verify --repair');
  try {
    // An object a running run holds is left to that run; repair it once the run is over.
    const live = await leases.liveKeys();
    for (const key of damaged.filter((k) => live.has(k))) process.stdout.write(`${key.slice(0, 12)} is in use by a running run; run \`inkflow verify --repair\` again when it has finished\n`);
    damaged = damaged.filter((k) => !live.has(k));
    for (const key of damaged) await store.remove(key);
    await store.removeDanglingLinks();
  } finally {
    await unlock();
  }
  process.stdout.write(`removed ${damaged.length} damaged artifact(s) from the store\n`);
  const files = await pipelinesThatMade(paths.runs, problems);
  let rerunFailed = false;
  for (const file of files) {
    process.stdout.write(`rebuilding: inkflow run ${file}\n`);
    const ok = await rerun(file, workspace);
    if (!ok) {
      rerunFailed = true;
      process.stdout.write(`  the rerun of ${file} failed; see above\n`);
    }
  }
  const rebuilt = new Set<string>();
  for (const key of damaged) if ((await store.check(key)).state === 'hit') rebuilt.add(key);
  for (const key of damaged.filter((k) => !rebuilt.has(k))) {
    const p = problems.find((x) => x.key === key)!;
    process.stdout.write(`  ${key.slice(0, 12)} ${p.pipeline ?? '?'}/${p.stage ?? '?'} was removed, not rebuilt: no recorded pipeline run makes it with the current files and params; the next run that needs it rebuilds it\n`);
  }
  problems = await verifyStore(store);
  return problems.length || rerunFailed ? 1 : 0;
}

async function verifyStore(store: ArtifactStore): Promise<ObjectProblem[]> {
  const started = performance.now();
  let checked = 0;
  let bytes = 0;
  const status = new StatusLine();
  const problems = await store.verify((_, size) => {
    checked++;
    bytes += size;
    status.update(`verifying ${checked} artifacts, ${formatBytes(bytes)}…`);
  });
  status.clear();
  const seconds = (performance.now() - started) / 1000;
  for (const p of problems) process.stdout.write(`${p.key.slice(0, 12)} ${p.pipeline ?? '?'}/${p.stage ?? '?'}: ${p.message}\n`);
  const speed = `${formatBytes(bytes)} in ${seconds.toFixed(1)} s, ${(bytes / 1e6 / Math.max(seconds, 1e-3)).toFixed(0)} MB/s`;
  process.stdout.write(problems.length
    ? `${problems.length} problem(s) in ${new Set(problems.map((p) => p.key)).size} of ${checked} artifacts (${speed}); \`inkflow verify --repair\` replaces them with fresh results (a damaged artifact is never reused: the next run that needs it rebuilds it)\n`
    : `${checked} artifacts verified, no corruption (${speed})\n`);
  return problems;
}

/** The pipeline files of the latest successful runs that used or made the damaged objects. */
async function pipelinesThatMade(runsDir: string, problems: ObjectProblem[]): Promise<string[]> {
  const runs = (await listRuns(runsDir)).filter((r) => r.ok).reverse();
  const files = new Set<string>();
  for (const problem of problems) {
    const run = runs.find((r) => Object.values(r.stages).some((s) => s.key === problem.key)) ?? runs.find((r) => r.pipeline === problem.pipeline);
    if (run && (await stat(run.pipelineFile).catch(() => undefined))) files.add(run.pipelineFile);
  }
  return [...files];
}

async function rerun(file: string, workspace: string): Promise<boolean> {
  const { loadPipeline } = await import('../../engine/config.js');
  const { runPipeline } = await import('../../engine/executor.js');
  const { plainReporter } = await import('../reporters.js');
  const reporter = plainReporter();
  const result = await runPipeline(await loadPipeline(file, { workspace }), { workspace, onEvent: reporter.sink, trigger: 'verify --repair' });
  await reporter.done();
  return result.ok;
}

const GC_HELP = `usage: inkflow gc [--keep <n>] [--dry-run]
       inkflow gc --remote <name> [--older-than <days>] [--dry-run]

Removes artifacts that no kept run uses, run records that are not kept, and
staging leftovers of killed runs. Kept are, per pipeline:
  - the last <n> successful runs (default 5; failed runs never push them out)
    and every run newer than those (--keep 0: no run);
  - runs promoted to models/ (models/<name>/<version>/run.json) and runs
    pinned with a file named "pinned" in their folder (logs/runs/<run>/pinned);
  - everything a run in progress uses (gc waits for nothing and never touches it).
  --dry-run   say what would be removed, remove nothing

With --remote: removes the remote's stage entries uploaded more than <days> ago
(default 30) that no run recorded in this workspace used, then the blobs no
remaining entry lists (blobs younger than <days> are kept: an upload may be under way).`;

export async function gcCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('gc', args, { keep: { type: 'string', default: '5' }, 'dry-run': { type: 'boolean' }, remote: { type: 'string' }, 'older-than': { type: 'string' } }, GC_HELP);
  if (!parsed) return 0;
  if (parsed.values.remote !== undefined) return remoteGc(parsed.values.remote, integerOption('gc', 'older-than', parsed.values['older-than']) ?? 30, parsed.values['dry-run'] ?? false);
  if (parsed.values['older-than'] !== undefined) throw new UsageError('gc: --older-than applies to a remote; add --remote <name>');
  const keep = integerOption('gc', 'keep', parsed.values.keep) ?? 5;
  const dryRun = parsed.values['dry-run'] ?? false;
  const workspace = workspaceRoot();
  const paths = workspacePaths(workspace);
  const store = new ArtifactStore(paths.artifacts);
  const leases = new Leases(store.root);
  const unlock = dryRun ? async () => undefined : await leases.lock('inkflow gc');
  try {
    // Leases are read after the lock is taken (a run that holds a key later waits for gc before
    // looking it up) and before the run records (a run releases its lease only after writing its
    // record, so a run that finishes meanwhile is seen in one or the other).
    const live = await leases.liveKeys();
    const runs = await listRuns(paths.runs);
    const protectedRuns = await promotedOrPinnedRuns(workspace, paths.runs);
    const { kept, dropped } = selectRuns(runs, keep, protectedRuns.ids);
    const liveKeys = new Set([...live, ...protectedRuns.keys, ...kept.flatMap(stageKeys)]);
    let freed = 0;
    let removed = 0;
    for (const key of await store.keys()) {
      if (liveKeys.has(key)) continue;
      const manifest = await readJson<{ outputs?: Record<string, { files: Record<string, { size: number }> }> }>(store.manifestPath(key)).catch(() => undefined);
      freed += Object.values(manifest?.outputs ?? {}).flatMap((o) => Object.values(o.files ?? {})).reduce((n, f) => n + (f.size ?? 0), 0);
      removed++;
      if (dryRun) process.stdout.write(`would remove ${key.slice(0, 12)}\n`);
      else await store.remove(key);
    }
    if (!dryRun) {
      for (const run of dropped) await removeTree(join(paths.runs, run.runId));
      await store.cleanStaging(60 * 60 * 1000, live);
      await store.removeDanglingLinks();
    }
    const pipelines = new Set(runs.map((r) => r.pipeline)).size;
    process.stdout.write(`${dryRun ? 'would remove' : 'removed'} ${removed} artifact(s), ${formatBytes(freed)}, and ${dropped.length} old run record(s); kept ${kept.length} run(s) of ${pipelines} pipeline(s) (the last ${keep} successful per pipeline and newer${protectedRuns.ids.size ? `, ${protectedRuns.ids.size} promoted or pinned` : ''})${live.size ? `, and ${live.size} artifact(s) in use by running runs` : ''}\n`);
    return 0;
  } finally {
    await unlock();
  }
}

async function remoteGc(name: string, days: number, dryRun: boolean): Promise<number> {
  const { openRemoteCache } = await import('../../remote/open.js');
  const { collectRemoteGarbage } = await import('../../remote/gc.js');
  const workspace = workspaceRoot();
  const remote = await openRemoteCache(workspace, { name, readOnly: dryRun });
  if (!remote) throw new UserInputError(`gc: no remote "${name}"`);
  if (!dryRun && remote.location.read_only) throw new UserInputError(`gc: ${remote.cache.description} is read-only (read_only: true in the config)`);
  const runs = await listRuns(workspacePaths(workspace).runs);
  const keep = new Set(runs.flatMap(stageKeys));
  const result = await collectRemoteGarbage(remote.cache, {
    olderThanMs: days * 24 * 3600 * 1000,
    keep,
    dryRun,
    onProgress: (message) => process.stderr.isTTY && process.stderr.write(`${message}…\n`),
  });
  process.stdout.write(`${dryRun ? 'would remove' : 'removed'} ${result.entries} stage entr${result.entries === 1 ? 'y' : 'ies'} and ${result.blobs} blob(s), ${formatBytes(result.bytes)}, from ${remote.cache.description}; kept ${result.keptEntries} entr${result.keptEntries === 1 ? 'y' : 'ies'} (newer than ${days} day(s) or used by a run recorded here) and ${result.keptBlobs} blob(s)\n`);
  return 0;
}

function stageKeys(run: RunRecord): string[] {
  return Object.values(run.stages).map((s) => s.key).filter((k): k is string => !!k);
}

/** Per pipeline: the last `keep` successful runs, every run newer than the oldest of those, and protected runs. */
export function selectRuns(runs: RunRecord[], keep: number, protectedIds: ReadonlySet<string>): { kept: RunRecord[]; dropped: RunRecord[] } {
  const byPipeline = new Map<string, RunRecord[]>();
  for (const run of runs) byPipeline.set(run.pipeline, [...(byPipeline.get(run.pipeline) ?? []), run]);
  const kept: RunRecord[] = [];
  const dropped: RunRecord[] = [];
  for (const list of byPipeline.values()) {
    const successful = list.filter((r) => r.ok);
    // With fewer successful runs than --keep, every run is kept; --keep 0 keeps none.
    const oldestKept = keep === 0 ? undefined : successful.length > keep ? successful[successful.length - keep] : list[0];
    for (const run of list) {
      const keepIt = (oldestKept !== undefined && run.runId >= oldestKept.runId) || protectedIds.has(run.runId);
      (keepIt ? kept : dropped).push(run);
    }
  }
  return { kept, dropped };
}

/** Runs whose record was copied into models/ by promotion, or marked pinned: their artifacts are kept whatever --keep says. */
async function promotedOrPinnedRuns(workspace: string, runsDir: string): Promise<{ ids: Set<string>; keys: Set<string> }> {
  const ids = new Set<string>();
  const keys = new Set<string>();
  const addRecord = async (file: string) => {
    const record = await readJson<RunRecord>(file).catch(() => undefined);
    if (!record || typeof record.runId !== 'string') return;
    ids.add(record.runId);
    for (const key of stageKeys(record)) keys.add(key);
  };
  const models = join(workspace, 'models');
  for (const name of await readdir(models).catch(() => [] as string[])) {
    await addRecord(join(models, name, 'run.json'));
    for (const version of await readdir(join(models, name)).catch(() => [] as string[])) await addRecord(join(models, name, version, 'run.json'));
  }
  for (const id of await readdir(runsDir).catch(() => [] as string[])) {
    if (await stat(join(runsDir, id, 'pinned')).catch(() => undefined)) await addRecord(join(runsDir, id, 'run.json'));
  }
  return { ids, keys };
}
