/**
 * "What would run, and why": the one answer behind `inkflow status` and
 * `inkflow run --dry-run`. Keys are computed stage by stage while upstream results
 * are cached; a stage behind one that would rerun is blocked, since its inputs are
 * not known until then. Reasons compare against the last recorded run.
 */
import type { ResolvedPipeline } from './config.js';
import { dependencyMap, topologicalOrder } from './dag.js';
import { KeyCalculator, keyOf, recordedIngredients, resolvePipelineEnvironments } from './keys.js';
import { listRuns } from './run-record.js';
import type { Selection } from './selection.js';
import { ArtifactStore, STANDARD_INGREDIENTS, type KeyIngredients, type Manifest } from './store.js';
import { workspacePaths } from './workspace.js';
import { canonicalJson } from '../util/hash.js';

export type PlannedState = 'cached' | 'stale' | 'new' | 'forced' | 'blocked';

export interface StagePlan {
  stage: string;
  state: PlannedState;
  key?: string;
  reasons: string[];
  /** Direct upstream stages that would rerun first (for `blocked`). */
  waitsFor?: string[];
  /** Why the key could not be computed (e.g. a data file is missing). */
  error?: unknown;
}

export async function planPipeline(pipeline: ResolvedPipeline, workspace: string, selection?: Selection): Promise<StagePlan[]> {
  const paths = workspacePaths(workspace);
  const store = new ArtifactStore(paths.artifacts);
  const keys = new KeyCalculator(workspace, store, await resolvePipelineEnvironments(pipeline));
  const previous = await lastIngredients(paths.runs, pipeline.name);
  const results = new Map<string, Manifest>();
  const plans: StagePlan[] = [];
  const deps = dependencyMap(pipeline);
  for (const name of topologicalOrder(deps)) {
    if (selection && !selection.selected.has(name)) continue;
    const stage = pipeline.stages.get(name);
    if (!stage) continue;
    const waitsFor = (deps.get(name) ?? []).filter((d) => !results.has(d));
    if (waitsFor.length) {
      plans.push({ stage: name, state: 'blocked', waitsFor, reasons: waitsFor.map((d) => `upstream "${d}" will rerun, so this stage's inputs are not known yet`) });
      continue;
    }
    let ingredients: KeyIngredients;
    try {
      ingredients = await keys.ingredients(stage, results);
    } catch (err) {
      plans.push({ stage: name, state: 'stale', reasons: [(err as Error).message], error: err });
      continue;
    }
    const key = keyOf(ingredients);
    if (selection?.forced.has(name)) {
      plans.push({ stage: name, state: 'forced', key, reasons: ['forced'] });
      continue;
    }
    const cached = await store.check(key);
    if (cached.state === 'hit') {
      results.set(name, cached.manifest);
      plans.push({ stage: name, state: 'cached', key, reasons: [] });
      continue;
    }
    if (cached.state === 'damaged') {
      plans.push({ stage: name, state: 'stale', key, reasons: [`cached result is damaged and will be rebuilt: ${cached.problems.join('; ')}`] });
      continue;
    }
    const before = previous.get(name);
    plans.push({
      stage: name,
      state: before ? 'stale' : 'new',
      key,
      reasons: before ? explainChange(before, recordedIngredients(stage, ingredients)) : ['never run in a recorded run'],
    });
  }
  await keys.save();
  return plans;
}

async function lastIngredients(runsDir: string, pipeline: string): Promise<Map<string, KeyIngredients>> {
  const found = new Map<string, KeyIngredients>();
  const runs = (await listRuns(runsDir)).filter((r) => r.pipeline === pipeline).reverse();
  for (const run of runs) {
    for (const [stage, record] of Object.entries(run.stages)) {
      if (!found.has(stage) && record.ingredients && (record.status === 'ran' || record.status === 'cached')) found.set(stage, record.ingredients);
    }
  }
  return found;
}

export function explainChange(before: KeyIngredients, now: KeyIngredients): string[] {
  const reasons: string[] = [];
  if (before.uses !== now.uses) reasons.push(`stage module changed: ${before.uses} -> ${now.uses}`);
  if (before.code !== now.code) reasons.push('stage code changed (the module or a local file it imports)');
  if (before.version !== now.version) reasons.push(`stage format version ${before.version} -> ${now.version}`);
  if (before.format !== now.format) reasons.push('cache key format changed');
  for (const key of new Set([...Object.keys(before), ...Object.keys(now)])) {
    if (!STANDARD_INGREDIENTS.includes(key) && canonicalJson(before[key]) !== canonicalJson(now[key])) {
      reasons.push(`${key} ${String(before[key] ?? 'none')} -> ${String(now[key] ?? 'none')}`);
    }
  }
  for (const key of new Set([...Object.keys(before.params), ...Object.keys(now.params)])) {
    const [a, b] = [before.params[key], now.params[key]];
    if (canonicalJson(a) !== canonicalJson(b)) reasons.push(`param ${key}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`);
  }
  for (const key of new Set([...Object.keys(before.inputs), ...Object.keys(now.inputs)])) {
    if (before.inputs[key] !== now.inputs[key]) reasons.push(`input ${key} changed`);
  }
  for (const key of new Set([...Object.keys(before.files), ...Object.keys(now.files)])) {
    if (before.files[key] !== now.files[key]) reasons.push(`data file ${key} changed`);
  }
  return reasons.length ? reasons : ['result missing from the store (removed by gc or never published)'];
}
