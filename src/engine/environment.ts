/** Where a run happened: the machine and git commit, plus what each stage environment resolved to. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentRequest, ResolvedEnvironment, StageEnvironment } from './stage-api.js';
import { inkflowVersion } from '../version.js';

/** The git commit of the workspace, read from .git directly (no process spawn on the hot path). */
export function gitCommit(workspace: string): string | undefined {
  try {
    const head = readFileSync(join(workspace, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    try {
      return readFileSync(join(workspace, '.git', ref), 'utf8').trim();
    } catch {
      const packed = readFileSync(join(workspace, '.git', 'packed-refs'), 'utf8');
      return packed.split('\n').find((l) => l.endsWith(` ${ref}`))?.split(' ')[0];
    }
  } catch {
    return undefined;
  }
}

export type EnvironmentDescription = {
  node: string;
  platform: string;
  inkflow: string | undefined;
  gitCommit: string | undefined;
} & Record<string, unknown>;

/** The run record's `environment`: the machine, then every resolved stage environment's record entries. */
export function describeEnvironment(workspace: string, environments: Iterable<ResolvedEnvironment>): EnvironmentDescription {
  const resolved: Record<string, unknown> = {};
  for (const environment of environments) Object.assign(resolved, environment.record ?? environment.key);
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    inkflow: inkflowVersion(),
    ...resolved,
    gitCommit: gitCommit(workspace),
  };
}

/** Each distinct stage environment, resolved once for a run. */
export async function resolveEnvironments(
  environments: Iterable<StageEnvironment | undefined>,
  request: EnvironmentRequest,
): Promise<Map<StageEnvironment, ResolvedEnvironment>> {
  const resolved = new Map<StageEnvironment, ResolvedEnvironment>();
  for (const environment of environments) {
    if (environment && !resolved.has(environment)) resolved.set(environment, await environment.resolve(request));
  }
  return resolved;
}

/** All key entries of the resolved environments, e.g. `{ backend: 'wasm' }`, for the run-start event. */
export function environmentKeys(resolved: ReadonlyMap<StageEnvironment, ResolvedEnvironment>): Record<string, string> {
  return Object.assign({}, ...[...resolved.values()].map((r) => r.key)) as Record<string, string>;
}
