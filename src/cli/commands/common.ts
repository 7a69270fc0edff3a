import { resolve } from 'node:path';
import type { ResolvedPipeline } from '../../engine/config.js';
import { UsageError } from '../../errors.js';
import { EXECUTOR_KINDS, type ExecutorKind } from '../../engine/executor-kinds.js';

export function workspaceRoot(): string {
  return resolve(process.env.INKFLOW_WORKSPACE ?? process.cwd());
}

export async function pipelineFromArgs(command: string, positionals: string[], overrides: string[] = []): Promise<ResolvedPipeline> {
  const file = positionals[0];
  if (!file) throw new UsageError(`${command}: name a pipeline file, e.g. \`inkflow ${command} pipelines/letters.yaml\``);
  // Loaded here, not at the top: commands that only read records (runs, exp ls) start without the config validator.
  const { loadPipeline } = await import('../../engine/config.js');
  return loadPipeline(file, { workspace: workspaceRoot(), overrides });
}

/** `--executor` as given (undefined when not), or a usage error naming the kinds there are. */
export function executorOption(command: string, value: string | undefined): ExecutorKind | undefined {
  if (value === undefined || (EXECUTOR_KINDS as readonly string[]).includes(value)) return value as ExecutorKind | undefined;
  throw new UsageError(`${command}: --executor is ${EXECUTOR_KINDS.join(' or ')}, not "${value}"`);
}

/** Prints rows as aligned columns. */
export function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}
