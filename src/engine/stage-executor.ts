/**
 * Where a stage runs. The runner (executor.ts) keeps the DAG, the cache keys, the locks
 * and the run record, and hands each stage that must be computed to a StageExecutor:
 * the in-process one below by default, or one that sends it elsewhere (src/distributed
 * sends it to workers through a queue). The engine knows nothing of how others do it.
 */
import type { ResolvedPipeline, ResolvedStage } from './config.js';
import type { EventSink } from './events.js';
import type { EpochMetrics } from './stage-api.js';
import type { ArtifactStore, KeyIngredients, Manifest } from './store.js';
import type { StagePlacement } from './placement.js';

export type { StagePlacement };

/** One stage whose result is not cached, with everything needed to compute it. */
export interface StageTask {
  pipeline: ResolvedPipeline;
  stage: ResolvedStage;
  key: string;
  /** Why it runs (shown to the user). */
  reason: string;
  /** `--force`: compute it even where a result exists (a worker's store, the remote). */
  forced: boolean;
  /** The key's ingredients as written to the manifest (environment values redacted). */
  ingredients: KeyIngredients;
  /** The ingredients as keyed: may hold environment values, so never written anywhere (see ingredientFingerprint). */
  keyIngredients: KeyIngredients;
  /** Results of the stages run so far, by stage name: this stage's inputs are among them. */
  upstream: ReadonlyMap<string, Manifest>;
  /** The key entries of the stage's environment. */
  environment: Readonly<Record<string, string>>;
  workspace: string;
  store: ArtifactStore;
  runId: string;
  /** This stage's log folder in this run. */
  logDir: string;
  signal: AbortSignal;
  emit: EventSink;
  /** Where the stage's per-epoch metrics go as they arrive. */
  curve: EpochMetrics[];
  /** Seconds since the runner started on this stage (for the manifest). */
  seconds: () => number;
}

export interface StageOutcome {
  /** The published result, present in the runner's store. */
  manifest: Manifest;
  metrics: Record<string, number>;
  peakRssBytes?: number;
  placement?: StagePlacement;
}

export interface StageExecutor {
  /** Shown in the run record: "in-process", "bullmq". */
  readonly kind: string;
  run(task: StageTask): Promise<StageOutcome>;
  /** Facts for the run record (queue, depth); no credentials. */
  describe?(): Record<string, unknown>;
  close?(): Promise<void>;
}
