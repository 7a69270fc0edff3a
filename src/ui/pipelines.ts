/**
 * Pipelines as the dashboard shows them: the workspace's pipeline files, their
 * DAG and `inkflow status` per stage, and param overrides checked by the same
 * loader and schemas as `inkflow run --set`, with each error tied to its param.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadPipeline, type ResolvedPipeline } from '../engine/config.js';
import { dependencyMap } from '../engine/executor.js';
import { pipelineStatus, type StageState } from '../engine/status.js';
import { redact } from './records.js';

export interface ParamInfo {
  name: string;
  value: unknown;
  type?: string;
  description?: string;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
}

export interface PipelineView {
  file: string;
  name: string;
  description?: string;
  params: ParamInfo[];
  stages: { name: string; uses: string; deps: string[]; params: ParamInfo[] }[];
  status: StageState[];
}

/** Pipeline files the dashboard may load: only these names are accepted from requests. */
export async function pipelineFiles(workspace: string): Promise<string[]> {
  const names = await readdir(join(workspace, 'pipelines')).catch(() => [] as string[]);
  return names.filter((n) => /^[\w.-]+\.ya?ml$/.test(n)).sort().map((n) => `pipelines/${n}`);
}

export async function listPipelines(workspace: string): Promise<{ file: string; name?: string; description?: string; error?: string }[]> {
  return Promise.all((await pipelineFiles(workspace)).map(async (file) => {
    try {
      const p = await loadPipeline(join(workspace, file), { workspace });
      return { file, name: p.name, description: p.description };
    } catch (err) {
      return { file, error: (err as Error).message };
    }
  }));
}

function paramInfos(params: Record<string, unknown>, schema: unknown): ParamInfo[] {
  const properties = ((schema as { properties?: Record<string, Record<string, unknown>> })?.properties ?? {});
  const shown = redact(params);
  return Object.keys({ ...properties, ...params }).map((name) => {
    const p = properties[name] ?? {};
    return {
      name,
      value: shown[name],
      type: Array.isArray(p.type) ? p.type.join('|') : (p.type as string | undefined),
      description: p.description as string | undefined,
      minimum: p.minimum as number | undefined,
      maximum: p.maximum as number | undefined,
      enum: p.enum as unknown[] | undefined,
    };
  });
}

export async function describePipeline(workspace: string, file: string): Promise<PipelineView> {
  const pipeline = await loadPipeline(join(workspace, file), { workspace });
  const deps = dependencyMap(pipeline);
  return {
    file,
    name: pipeline.name,
    description: pipeline.description,
    params: paramInfos(pipeline.params, undefined),
    stages: [...pipeline.stages.values()].map((s) => ({ name: s.name, uses: s.uses, deps: deps.get(s.name) ?? [], params: paramInfos(s.params, s.definition.paramsSchema) })),
    status: await pipelineStatus(pipeline, workspace),
  };
}

export interface OverrideCheck {
  ok: boolean;
  /** Override key ("train.epochs") → what is wrong with its value. */
  errors: Record<string, string>;
  /** Problems not tied to one override. */
  general: string[];
  pipeline?: ResolvedPipeline;
}

const OVERRIDE_KEY = /^[a-z][a-z0-9_-]*\.[A-Za-z0-9_]+$/;

/**
 * Validates `stage.param → value` overrides exactly as `--set` would. When the
 * set as a whole fails, each override is tried alone so an error lands at its param.
 */
export async function checkOverrides(workspace: string, file: string, overrides: Record<string, string>): Promise<OverrideCheck> {
  const errors: Record<string, string> = {};
  for (const key of Object.keys(overrides)) if (!OVERRIDE_KEY.test(key)) errors[key] = 'not a <stage>.<param> name';
  if (Object.keys(errors).length) return { ok: false, errors, general: [] };
  const specs = (entries: [string, string][]) => entries.map(([k, v]) => `${k}=${v}`);
  const load = (entries: [string, string][]) => loadPipeline(join(workspace, file), { workspace, overrides: specs(entries) });
  try {
    return { ok: true, errors, general: [], pipeline: await load(Object.entries(overrides)) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const general = new Set(err.diagnostics.map((d) => `${d.where}: ${d.message}`));
    for (const entry of Object.entries(overrides)) {
      try {
        await load([entry]);
      } catch (single) {
        if (!(single instanceof ConfigError)) throw single;
        errors[entry[0]] = single.diagnostics.map((d) => d.message).join('; ');
        for (const d of single.diagnostics) general.delete(`${d.where}: ${d.message}`);
      }
    }
    return { ok: false, errors, general: [...general] };
  }
}
