/**
 * Pipeline file → validated, resolved config. Every problem is collected and
 * reported at once, each with the `file:line:col` of the YAML node at fault.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { displayPath } from '../util/paths.js';
import { parse as parseYaml } from 'yaml';
import { validateAt } from './ajv.js';
import { pipelineSchema, STAGE_NAME, type PipelineFile } from './pipeline-schema.js';
import { builtinStageNames, isLocalModuleRef, loadStageModule, stageModulePath, stageModuleRefusal } from './registry.js';
import { stageOutputs, type StageDefinition } from './stage-api.js';
import { YamlSource } from './yaml-source.js';
import { ConfigError, type Diagnostic } from '../errors.js';
import { didYouMean } from '../util/text.js';
import { findCycle } from './dag.js';
import type { ResourceRequest } from './resources.js';
import type { ExecutorKind } from './executor-kinds.js';

export interface ResolvedStage {
  name: string;
  uses: string;
  moduleFile: string;
  definition: StageDefinition;
  params: Record<string, unknown>;
  /** The params as written to run records and manifests: environment values replaced by `${env.NAME}`. */
  recordedParams?: Record<string, unknown>;
  /** Input name → upstream stage and output. */
  inputs: Record<string, { stage: string; output: string }>;
  outputs: readonly string[];
  /** What the stage needs while it runs; not part of its cache key. */
  resources: ResourceRequest;
}

export interface ResolvedPipeline {
  name: string;
  file: string;
  description?: string;
  /** The pipeline file's `backend:`, passed to stage environments as is (the ML layer decides what it means). */
  backend?: string;
  /** The pipeline file's `executor:` (where stages run), passed to the command that runs it. */
  executor?: ExecutorKind;
  /** The `--set` overrides it was loaded with, so a worker can load the very same pipeline. */
  overrides: readonly string[];
  params: Record<string, unknown>;
  /** The params as written to run records: environment values replaced by `${env.NAME}`. */
  recordedParams?: Record<string, unknown>;
  stages: Map<string, ResolvedStage>;
}

export interface LoadOptions {
  workspace: string;
  /** `--set stage.param=value` or `--set params.name=value`, values as typed on the command line. */
  overrides?: string[];
  env?: NodeJS.ProcessEnv;
}

interface PipelinePart {
  source: YamlSource;
  pipeline: PipelineFile;
}

async function readPipelineFile(file: string, includedFrom?: string): Promise<PipelinePart> {
  const shownFile = displayPath(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ where: includedFrom ?? shownFile, message: `cannot read pipeline file ${shownFile}: ${(err as Error).message}` }]);
  }
  const source = new YamlSource(shownFile, text);
  const syntax = source.syntaxErrors();
  if (syntax.length) throw new ConfigError(syntax);
  const raw = source.doc.toJS() as unknown;
  const diagnostics = validateAt(pipelineSchema, raw, source, []);
  if (diagnostics.length) throw new ConfigError(diagnostics);
  return { source, pipeline: raw as PipelineFile };
}

/**
 * A pipeline file and, first, everything it includes, depth first (an included
 * file's own includes come before it). A file reached twice is read once; a file
 * that includes itself, directly or not, is an error naming the chain.
 */
async function readWithIncludes(file: string, parts: PipelinePart[], chain: string[] = [], seen = new Set<string>(), includedFrom?: string): Promise<PipelinePart> {
  const abs = resolve(file);
  const part = await readPipelineFile(file, includedFrom);
  const here = [...chain, abs];
  for (const [i, included] of (part.pipeline.include ?? []).entries()) {
    const target = resolve(dirname(abs), included);
    const where = part.source.locate(['include', i]);
    if (here.includes(target)) {
      throw new ConfigError([{ where, message: `include cycle: ${[...here.slice(here.indexOf(target)), target].map(displayPath).join(' -> ')}; remove one of these includes` }]);
    }
    if (seen.has(target)) continue;
    await readWithIncludes(target, parts, here, seen, where);
  }
  seen.add(abs);
  parts.push(part);
  return part;
}

export async function loadPipeline(file: string, options: LoadOptions): Promise<ResolvedPipeline> {
  // Included pipelines contribute their params and stages; identical stages get identical keys, so their cached results are shared.
  const parts: PipelinePart[] = [];
  const main = await readWithIncludes(file, parts);
  const diagnostics: Diagnostic[] = [];
  const env = options.env ?? process.env;
  const redactedEnv = new Proxy({}, { get: (_, name) => (typeof name === 'string' ? `\${env.${name}}` : undefined) }) as NodeJS.ProcessEnv;
  const stageSource = new Map<string, YamlSource>();
  const pipeline: PipelineFile = { ...main.pipeline, stages: {} };
  let fileParams: Record<string, unknown> = {};
  let recordedFileParams: Record<string, unknown> = {};
  for (const part of parts) {
    fileParams = { ...fileParams, ...(interpolate(part.pipeline.params ?? {}, { params: {}, env }, part.source, ['params'], diagnostics) as object) };
    recordedFileParams = { ...recordedFileParams, ...(interpolate(part.pipeline.params ?? {}, { params: {}, env: redactedEnv }, part.source, ['params'], []) as object) };
    for (const [name, entry] of Object.entries(part.pipeline.stages)) {
      if (pipeline.stages[name]) {
        diagnostics.push({ where: part.source.locate(['stages', name], true), message: `stage "${name}" is already defined in ${stageSource.get(name)!.file}; rename one of them` });
        continue;
      }
      pipeline.stages[name] = entry;
      stageSource.set(name, part.source);
    }
  }
  const overrides = parseOverrides(options.overrides ?? [], pipeline, diagnostics);
  const interpolatedParams = { ...fileParams, ...coerceParams(overrides.get('params') ?? {}) };
  const recordedParams = { ...recordedFileParams, ...coerceParams(overrides.get('params') ?? {}) };
  const context = { params: interpolatedParams, env };
  const recordedContext = { params: recordedParams, env: redactedEnv };

  const stages = new Map<string, ResolvedStage>();
  const builtins = builtinStageNames();
  // Thousands of stages share a few modules: resolve and vet each `uses:` once.
  const resolvedModules = new Map<string, string>();
  const refusals = new Map<string, string | undefined>();
  for (const [name, entry] of Object.entries(pipeline.stages)) {
    const source = stageSource.get(name)!;
    const moduleFile = resolvedModules.get(entry.uses) ?? stageModulePath(entry.uses, options.workspace);
    if (moduleFile) resolvedModules.set(entry.uses, moduleFile);
    if (!moduleFile) {
      const hint = isLocalModuleRef(entry.uses) ? ' (file not found)' : `${didYouMean(entry.uses, builtins)}; built-in stages: ${builtins.join(', ')}`;
      diagnostics.push({ where: source.locate(['stages', name, 'uses']), message: `stage "${name}" uses unknown stage module "${entry.uses}"${hint}` });
      continue;
    }
    if (!refusals.has(moduleFile)) refusals.set(moduleFile, stageModuleRefusal(moduleFile, options.workspace, env));
    const refusal = refusals.get(moduleFile);
    if (refusal) {
      diagnostics.push({ where: source.locate(['stages', name, 'uses']), message: `stage "${name}" uses ${refusal}` });
      continue;
    }
    let definition: StageDefinition;
    try {
      ({ definition } = await loadStageModule(moduleFile));
    } catch (err) {
      diagnostics.push({ where: source.locate(['stages', name, 'uses']), message: `cannot load stage module: ${(err as Error).message}` });
      continue;
    }
    const stageOverrides = overrides.get(name) ?? {};
    for (const key of Object.keys(stageOverrides)) {
      if (!(key in ((definition.paramsSchema as { properties?: object }).properties ?? {}))) {
        const known = Object.keys((definition.paramsSchema as { properties?: object }).properties ?? {});
        diagnostics.push({ where: '--set', message: `stage "${name}" (${entry.uses}) has no param "${key}"${didYouMean(key, known)}` });
      }
    }
    const where = ['stages', name, 'params'];
    const spliced: (string | number)[][] = [];
    const params = {
      ...(interpolate(entry.params ?? {}, context, source, where, diagnostics, spliced) as object),
      ...coerceOverrides(stageOverrides, definition),
    } as Record<string, unknown>;
    const stageDiagnostics = validateAt(definition.paramsSchema, params, source, where);
    diagnostics.push(...stageDiagnostics);
    if (!stageDiagnostics.length && definition.checkParams) {
      const relativeSpliced = spliced.map((path) => path.slice(where.length));
      for (const problem of definition.checkParams(params, relativeSpliced)) {
        diagnostics.push({ where: source.locate([...where, ...problem.path]), message: `stage "${name}": ${problem.message}` });
      }
    }
    // Validation filled in schema defaults on `params`; the recorded copy gets the same defaults.
    const recorded = { ...params, ...(interpolate(entry.params ?? {}, recordedContext, source, where, []) as object) } as Record<string, unknown>;
    for (const key of Object.keys(stageOverrides)) recorded[key] = params[key];
    stages.set(name, {
      name,
      uses: entry.uses,
      moduleFile,
      definition,
      params,
      recordedParams: recorded,
      inputs: {},
      outputs: safeOutputs(definition, params),
      resources: { ...entry.resources, ...(entry.mutex ? { mutex: entry.mutex } : {}) },
    });
  }

  for (const [name, entry] of Object.entries(pipeline.stages)) {
    const stage = stages.get(name);
    if (!stage) continue;
    const source = stageSource.get(name)!;
    const declared = stage.definition.inputs;
    for (const [input, ref] of Object.entries(entry.inputs ?? {})) {
      // Locating a YAML node is a search through the file: only errors pay for it.
      const where = () => source.locate(['stages', name, 'inputs', input]);
      if (!(input in declared) && !stage.definition.anyInputs) {
        diagnostics.push({ where: source.locate(['stages', name, 'inputs', input], true), message: `stage "${name}" (${entry.uses}) has no input "${input}"${didYouMean(input, Object.keys(declared))}; inputs: ${Object.keys(declared).join(', ') || 'none'}` });
        continue;
      }
      // The schema's pattern guarantees "<stage>.<output>"; the output name holds no dot.
      const dot = ref.indexOf('.');
      const from = ref.slice(0, dot);
      const output = ref.slice(dot + 1);
      if (!(from in pipeline.stages)) {
        diagnostics.push({ where: where(), message: `input "${input}" refers to missing stage "${from}"${didYouMean(from, Object.keys(pipeline.stages))}` });
        continue;
      }
      const upstream = stages.get(from);
      if (upstream && !upstream.outputs.includes(output)) {
        diagnostics.push({ where: where(), message: `stage "${from}" has no output "${output}"${didYouMean(output, upstream.outputs)}; outputs: ${upstream.outputs.join(', ')}` });
        continue;
      }
      stage.inputs[input] = { stage: from, output };
    }
    for (const [input, spec] of Object.entries(declared)) {
      if (spec.required && !(entry.inputs && input in entry.inputs)) {
        diagnostics.push({ where: source.locate(['stages', name], true), message: `stage "${name}" (${entry.uses}) needs input "${input}": ${spec.description}` });
      }
    }
  }

  const cycle = findCycle(new Map([...stages].map(([n, s]) => [n, Object.values(s.inputs).map((i) => i.stage)])));
  if (cycle) diagnostics.push({ where: stageSource.get(cycle[0])!.locate(['stages', cycle[0]], true), message: `stages form a cycle: ${cycle.join(' -> ')}` });

  if (diagnostics.length) throw new ConfigError(diagnostics);
  return {
    name: pipeline.name,
    file: resolve(file),
    description: pipeline.description,
    backend: pipeline.backend,
    ...(pipeline.executor ? { executor: pipeline.executor } : {}),
    overrides: options.overrides ?? [],
    params: interpolatedParams,
    recordedParams,
    stages,
  };
}

function safeOutputs(definition: StageDefinition, params: Record<string, unknown>): readonly string[] {
  try {
    return stageOutputs(definition, params);
  } catch {
    return [];
  }
}

const OVERRIDE_RE = new RegExp(`^(?<target>${STAGE_NAME})\\.(?<key>[A-Za-z0-9_]+)=(?<value>.*)$`, 's');

function parseOverrides(specs: string[], pipeline: PipelineFile, diagnostics: Diagnostic[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const spec of specs) {
    const match = OVERRIDE_RE.exec(spec)?.groups;
    if (!match?.target || !match.key || match.value === undefined) {
      diagnostics.push({ where: '--set', message: `"${spec}" is not of the form <stage>.<param>=<value> (or params.<name>=<value>)` });
      continue;
    }
    const { target, key, value } = match;
    if (target !== 'params' && !(target in pipeline.stages)) {
      diagnostics.push({ where: '--set', message: `no stage "${target}"${didYouMean(target, Object.keys(pipeline.stages))}` });
      continue;
    }
    out.set(target, { ...out.get(target), [key]: value });
  }
  return out;
}

/** Pipeline-level --set values are read as YAML scalars ("3" is a number). */
function coerceParams(values: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, parseYaml(v)]));
}

/** Command-line values are typed by the stage's schema: "3" is a number where the param is one. */
function coerceOverrides(values: Record<string, string>, definition: StageDefinition): Record<string, unknown> {
  const properties = ((definition.paramsSchema as { properties?: Record<string, { type?: string | string[] }> }).properties ?? {});
  const out: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(values)) {
    const type = properties[key]?.type;
    const wantsString = type === 'string' || (Array.isArray(type) && type.length === 1 && type[0] === 'string');
    out[key] = wantsString ? text : parseYaml(text);
  }
  return out;
}

const REF_RE = /\$\{(params|env)\.([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

interface InterpolationContext {
  params: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
}

/** Replaces `${params.x}` and `${env.X:-default}`; a string that is one reference keeps the value's type. */
function interpolate(value: unknown, ctx: InterpolationContext, source: YamlSource, path: (string | number)[], diagnostics: Diagnostic[], spliced?: (string | number)[][]): unknown {
  if (typeof value === 'string') {
    const lookup = (kind: string, name: string, fallback: string | undefined): unknown => {
      const found = kind === 'params' ? ctx.params[name] : ctx.env[name];
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      const known = kind === 'params' ? Object.keys(ctx.params) : [];
      diagnostics.push({ where: source.locate(path), message: `\${${kind}.${name}} is not defined${didYouMean(name, known)}` });
      return '';
    };
    const whole = /^\$\{(params|env)\.([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/.exec(value);
    if (whole?.[1] && whole[2]) return lookup(whole[1], whole[2], whole[3]);
    if (spliced && new RegExp(REF_RE.source).test(value)) spliced.push(path);
    return value.replace(REF_RE, (_, kind: string, name: string, fallback?: string) => String(lookup(kind, name, fallback)));
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, ctx, source, [...path, i], diagnostics, spliced));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, ctx, source, [...path, k], diagnostics, spliced)]));
  }
  return value;
}
