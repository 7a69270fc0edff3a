/** Which stages a run considers (`--only`: a stage and its upstream) and which it reruns regardless of the cache (`--force`, `--from`, `--only`). */
import type { ResolvedPipeline } from './config.js';
import { dependencyMap, downstreamOf, upstreamOf } from './dag.js';
import { UserInputError } from '../errors.js';

export interface SelectionOptions {
  force?: boolean;
  only?: string;
  from?: string;
}

export interface Selection {
  selected: ReadonlySet<string>;
  forced: ReadonlySet<string>;
  /** With --only: the one stage that may run; the others must be cached. */
  only?: string;
}

export function selectStages(pipeline: ResolvedPipeline, options: SelectionOptions): Selection {
  const deps = dependencyMap(pipeline);
  const forced = new Set<string>();
  let selected = new Set(pipeline.stages.keys());
  if (options.force) pipeline.stages.forEach((_, name) => forced.add(name));
  if (options.from) {
    requireStage(pipeline, options.from, '--from');
    downstreamOf(deps, options.from).forEach((s) => forced.add(s));
  }
  if (options.only) {
    requireStage(pipeline, options.only, '--only');
    forced.add(options.only);
    selected = upstreamOf(deps, options.only);
  }
  return { selected, forced, ...(options.only ? { only: options.only } : {}) };
}

function requireStage(pipeline: ResolvedPipeline, name: string, flag: string): void {
  if (!pipeline.stages.has(name)) {
    throw new UserInputError(`${flag} ${name}: no such stage in ${pipeline.name}; stages: ${[...pipeline.stages.keys()].join(', ')}`);
  }
}
