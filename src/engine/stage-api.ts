/**
 * The public interface between the engine and stage modules. A stage module
 * default-exports `defineStage({...})`; it sees only what is declared here.
 * Projects import it as `inkflow/stage-api`; params schemas are built with the
 * TypeBox helpers re-exported below, so a stage's params type comes from its schema.
 */
import type { TSchema } from '@sinclair/typebox';

export { AnyObject, AutoOrBoolean, NamedMap, StrictObject, StringEnum, Type, type Static, type TSchema } from './schema.js';

/** A JSON Schema for a stage's params: a TypeBox schema, or a plain JSON Schema object. */
export type JsonSchema = TSchema | Readonly<Record<string, unknown>>;

/**
 * A function property checked like a method (bivariantly), so a definition typed
 * for its own params is still a StageDefinition the engine can hold.
 */
type ParamsFunction<P, R> = { bivarianceHack(params: P): R }['bivarianceHack'];

export interface StageLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface StageProgress {
  /** Short status shown beside the stage, e.g. "epoch 3/10 batch 120/400 loss 0.41". */
  update(message: string): void;
}

export interface StageContext<P> {
  /** Resolved, schema-validated params (defaults applied). */
  readonly params: P;
  /** Absolute paths of the upstream outputs this stage consumes, by input name (optional inputs may be absent). */
  readonly inputs: Readonly<Record<string, string>>;
  /** The path of input `name`; an input the pipeline does not wire is an error naming it. */
  input(name: string): string;
  /** Absolute path at which to write the named output (a file or a directory). */
  output(name: string): string;
  /** The workspace root; params naming files are resolved against it. */
  readonly workspace: string;
  /** Directory for this stage's logs in this run (TensorBoard events go below it). */
  readonly logDir: string;
  /** The key entries of the stage's `environment` as resolved for this run (e.g. `{ backend: 'wasm' }`); empty without one. */
  readonly environment: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  readonly log: StageLogger;
  readonly progress: StageProgress;
  /** Numbers worth comparing between runs; recorded in the run record. */
  recordMetrics(metrics: Record<string, number>): void;
  /**
   * Metrics of one pass of an iterative stage (1, 2, ...), reported while it runs:
   * they form the stage's curve in the run record, reach live reporters, and let an
   * experiment runner stop a run that is falling behind (the signal then aborts).
   */
  reportEpoch(epoch: number, metrics: Record<string, number>): void;
  /** The id of the run this stage belongs to. */
  readonly runId: string;
}

/** One point of a stage's curve. */
export type EpochMetrics = { epoch: number } & Record<string, number>;

export interface StageDefinition<P = unknown> {
  description: string;
  /** Bump when the stage's output format changes so old artifacts are not reused. */
  version: number;
  /**
   * What the results depend on besides code, params, inputs and files (e.g. the
   * numeric backend). The layer the stage builds on supplies it; see StageEnvironment.
   */
  environment?: StageEnvironment;
  paramsSchema: JsonSchema;
  /** Input names the stage accepts; `required` ones must be wired in the pipeline. */
  inputs: Record<string, { description: string; required?: boolean }>;
  /** Accept inputs under any name (the shell stage passes them through to its command). */
  anyInputs?: boolean;
  /** Output names, fixed or derived from params (e.g. the shell stage's declared files). */
  outputs: readonly string[] | ParamsFunction<P, readonly string[]>;
  /**
   * Params whose values name files or folders outside the store: their content
   * enters the cache key, so changed data reruns the stage.
   */
  fileParams?: ParamsFunction<P, string[]>;
  /**
   * Problems only the stage can see in its resolved params, reported at validation
   * with the YAML location of `path`. `spliced` lists the param paths where a
   * `${params.x}` or `${env.X}` value was spliced into a longer string.
   */
  checkParams?: (params: P, spliced: readonly (readonly (string | number)[])[]) => { path: readonly (string | number)[]; message: string }[];
  run(ctx: StageContext<P>): Promise<void>;
}

/**
 * A fingerprint of the world a stage runs in, supplied by a layer above the engine
 * (src/ml/numeric-environment.ts for tfjs stages). The engine resolves each one once
 * per run, adds its `key` entries to the cache key of every stage that uses it,
 * hands them to the stage as `ctx.environment`, and adds `record` to the run record.
 */
export interface StageEnvironment {
  /** Shown in errors; also tells environments apart in the run record. */
  readonly name: string;
  resolve(request: EnvironmentRequest): ResolvedEnvironment | Promise<ResolvedEnvironment>;
}

/** What the pipeline file asks of environments. */
export interface EnvironmentRequest {
  /** The pipeline's `backend:` value, when it has one. */
  backend?: string;
}

export interface ResolvedEnvironment {
  /** Small, stable values that change results: they enter the cache key. */
  key: Readonly<Record<string, string>>;
  /** Facts for the run record's `environment` (library versions and the like); not keyed. */
  record?: Readonly<Record<string, unknown>>;
}

/** A plain-JSON-Schema params object that rejects unknown keys (prefer StrictObject, which also gives the params type). */
export function strictObject<T extends Record<string, unknown>>(schema: T): T & { type: 'object'; additionalProperties: false } {
  return { type: 'object', additionalProperties: false, ...schema };
}

/**
 * `P` is the params type; derive it from a TypeBox schema with
 * `defineStage<Static<typeof params>>({ paramsSchema: params, ... })`
 * (defaults are applied before the stage runs, so defaulted keys are present).
 */
export function defineStage<P>(definition: StageDefinition<P>): StageDefinition<P> {
  return definition;
}

export function stageOutputs<P>(definition: StageDefinition<P>, params: P): readonly string[] {
  return typeof definition.outputs === 'function' ? definition.outputs(params) : definition.outputs;
}
