/** Kept apart from stage-executor.ts, with no imports, so the dashboard's browser code can share the type. */

/** Where a stage ran, when it was not the run's own process. */
export interface StagePlacement {
  host: string;
  /** The worker's id (host, pid and a suffix). */
  worker: string;
  /** Tries it took (a retry after a failure or a lost worker counts). */
  attempts: number;
  /** Seconds the stage waited in the queue before its last try started. */
  queuedSeconds: number;
  /** The worker found the result already computed (its store or the remote): nothing ran. */
  reused?: boolean;
}
