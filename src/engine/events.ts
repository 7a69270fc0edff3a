/** What a run reports as it goes; reporters (listr2, plain lines, NDJSON) render these. */
export type StageStatus = 'ran' | 'cached' | 'failed' | 'skipped';
/** Where a cached result came from: absent for the local store, `remote` when downloaded from a remote cache in this run. */
export type ResultSource = 'remote';

export type RunEvent =
  | { event: 'run-start'; runId: string; pipeline: string; stages: string[]; environment: Record<string, string> }
  | { event: 'stage-start'; stage: string; key: string; reason: string }
  | { event: 'stage-progress'; stage: string; message: string }
  | { event: 'stage-log'; stage: string; level: 'info' | 'warn'; message: string }
  | { event: 'stage-epoch'; stage: string; epoch: number; metrics: Record<string, number> }
  | { event: 'stage-end'; stage: string; status: StageStatus; key?: string; seconds: number; error?: string; reason?: string; source?: ResultSource }
  | { event: 'summary'; ok: boolean; runId: string; cancelled?: boolean; stopped?: string; stages: Record<string, StageSummary>; error?: string };

export interface StageSummary {
  status: StageStatus;
  key: string;
  seconds: number;
  source?: ResultSource;
}

export type EventSink = (event: RunEvent) => void;
