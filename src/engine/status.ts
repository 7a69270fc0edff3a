/** `inkflow status`: per stage, cached or stale, and why, against the last recorded run. */
import type { ResolvedPipeline } from './config.js';
import { planPipeline } from './plan.js';

export interface StageState {
  stage: string;
  state: 'cached' | 'stale' | 'new' | 'blocked';
  key?: string;
  reasons: string[];
}

export async function pipelineStatus(pipeline: ResolvedPipeline, workspace: string): Promise<StageState[]> {
  return (await planPipeline(pipeline, workspace)).map(({ stage, state, key, reasons }) => ({
    stage,
    state: state === 'forced' ? 'stale' : state,
    ...(key ? { key } : {}),
    reasons,
  }));
}
