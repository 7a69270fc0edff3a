/** `inkflow status`: per stage, cached or stale, and why, against the last recorded run. */
import type { ResolvedPipeline } from './config.js';
import { dependencyMap, KeyCalculator, keyOf, recordedIngredients, resolvePipelineEnvironments, workspacePaths } from './executor.js';
import { topologicalOrder } from './dag.js';
import { listRuns } from './run-record.js';
import { ArtifactStore, STANDARD_INGREDIENTS, type KeyIngredients, type Manifest } from './store.js';
import { canonicalJson } from '../util/hash.js';

export interface StageState {
  stage: string;
  state: 'cached' | 'stale' | 'new' | 'blocked';
  key?: string;
  reasons: string[];
}

export async function pipelineStatus(pipeline: ResolvedPipeline, workspace: string): Promise<StageState[]> {
  const paths = workspacePaths(workspace);
  const store = new ArtifactStore(paths.artifacts);
  const keys = new KeyCalculator(workspace, store, await resolvePipelineEnvironments(pipeline));
  const previous = await lastIngredients(paths.runs, pipeline.name);
  const results = new Map<string, Manifest>();
  const states: StageState[] = [];
  const deps = dependencyMap(pipeline);
  for (const name of topologicalOrder(deps)) {
    const stage = pipeline.stages.get(name)!;
    const notReady = (deps.get(name) ?? []).filter((d) => !results.has(d));
    if (notReady.length) {
      states.push({ stage: name, state: 'blocked', reasons: notReady.map((d) => `upstream "${d}" will rerun, so this stage's inputs are not known yet`) });
      continue;
    }
    let ingredients: KeyIngredients;
    try {
      ingredients = await keys.ingredients(stage, results);
    } catch (err) {
      states.push({ stage: name, state: 'stale', reasons: [(err as Error).message] });
      continue;
    }
    const key = keyOf(ingredients);
    const cached = await store.check(key);
    if (cached.state === 'hit') {
      results.set(name, cached.manifest);
      states.push({ stage: name, state: 'cached', key, reasons: [] });
      continue;
    }
    if (cached.state === 'damaged') {
      states.push({ stage: name, state: 'stale', key, reasons: [`cached result is damaged and will be rebuilt: ${cached.problems.join('; ')}`] });
      continue;
    }
    const before = previous.get(name);
    states.push({
      stage: name,
      state: before ? 'stale' : 'new',
      key,
      reasons: before ? explainChange(before, recordedIngredients(stage, ingredients)) : ['never run in a recorded run'],
    });
  }
  await keys.save();
  return states;
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
