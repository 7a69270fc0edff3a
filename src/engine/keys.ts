/**
 * Cache keys: SHA-256 over a stage's code (with the local files it imports), its
 * resolved params, the digests of its inputs, the content of data files its params
 * name, its format version, and the key entries of its environment.
 */
import { join, resolve } from 'node:path';
import type { ResolvedPipeline, ResolvedStage } from './config.js';
import { resolveEnvironments } from './environment.js';
import { FileDigests } from './file-digests.js';
import { moduleCodeHash } from './registry.js';
import type { ResolvedEnvironment, StageEnvironment } from './stage-api.js';
import { STANDARD_INGREDIENTS, type ArtifactStore, type KeyIngredients, type Manifest } from './store.js';
import { canonicalJson, sha256 } from '../util/hash.js';
import { InternalError, UserInputError } from '../errors.js';

/** Bump when the meaning of a key changes, so every old artifact is recomputed. */
const KEY_FORMAT = 1;

/** Computes a stage's cache key from its code, params, inputs and data files. */
export class KeyCalculator {
  private readonly digests: FileDigests;

  constructor(
    private readonly workspace: string,
    store: ArtifactStore,
    private readonly environments: ReadonlyMap<StageEnvironment, ResolvedEnvironment>,
  ) {
    this.digests = new FileDigests(join(store.root, 'file-digests.json'));
  }

  /** The key entries of the stage's environment, as resolved for this run. */
  environmentOf(stage: ResolvedStage): Readonly<Record<string, string>> {
    const environment = stage.definition.environment;
    if (!environment) return {};
    const resolved = this.environments.get(environment);
    if (!resolved) throw new InternalError(`environment "${environment.name}" of stage "${stage.name}" was not resolved`);
    const clash = Object.keys(resolved.key).find((k) => STANDARD_INGREDIENTS.includes(k));
    if (clash) throw new InternalError(`environment "${environment.name}" uses the reserved key entry "${clash}"`);
    return resolved.key;
  }

  async ingredients(stage: ResolvedStage, upstream: ReadonlyMap<string, Manifest>): Promise<KeyIngredients> {
    const inputs: Record<string, string> = {};
    for (const [name, ref] of Object.entries(stage.inputs)) {
      const manifest = upstream.get(ref.stage);
      if (!manifest) throw new InternalError(`upstream "${ref.stage}" of "${stage.name}" has no result`);
      const output = manifest.outputs[ref.output];
      if (!output) throw new InternalError(`upstream "${ref.stage}" of "${stage.name}" has no output "${ref.output}"`);
      inputs[name] = output.digest;
    }
    const files: Record<string, string> = {};
    for (const path of stage.definition.fileParams?.(stage.params) ?? []) {
      try {
        files[path] = await this.digests.digest(resolve(this.workspace, path));
      } catch (err) {
        throw new UserInputError(`stage "${stage.name}": ${(err as Error).message.replace(resolve(this.workspace, path), path)} (relative paths start at the workspace ${this.workspace}; check the path, or point INKFLOW_DATA_DIR at the data folder)`);
      }
    }
    return {
      format: KEY_FORMAT,
      uses: stage.uses,
      version: stage.definition.version,
      code: await moduleCodeHash(stage.moduleFile),
      params: stage.params,
      inputs,
      files,
      ...this.environmentOf(stage),
    };
  }

  save(): Promise<void> {
    return this.digests.save();
  }
}

export function keyOf(ingredients: KeyIngredients): string {
  return sha256(canonicalJson(ingredients));
}

/** Every distinct environment the pipeline's stages declare, resolved once. */
export function resolvePipelineEnvironments(pipeline: ResolvedPipeline): Promise<Map<StageEnvironment, ResolvedEnvironment>> {
  return resolveEnvironments([...pipeline.stages.values()].map((s) => s.definition.environment), { backend: pipeline.backend });
}

/** Ingredients as written to records: environment values the pipeline interpolated are redacted. */
export function recordedIngredients(stage: ResolvedStage, ingredients: KeyIngredients): KeyIngredients {
  if (!stage.recordedParams) return ingredients;
  const real = stage.definition.fileParams?.(stage.params) ?? [];
  const shown = stage.definition.fileParams?.(stage.recordedParams) ?? [];
  const files = Object.fromEntries(Object.entries(ingredients.files).map(([path, digest]) => [shown[real.indexOf(path)] ?? path, digest]));
  return { ...ingredients, params: stage.recordedParams, files };
}

/**
 * A short digest of each ingredient field (code, params, files, inputs, backend...):
 * two machines compare these to say which part of a stage differs between them
 * without sending the values themselves (params may hold secrets).
 */
export function ingredientFingerprint(ingredients: KeyIngredients): Record<string, string> {
  return Object.fromEntries(Object.entries(ingredients).map(([field, value]) => [field, sha256(canonicalJson(value)).slice(0, 16)]));
}
