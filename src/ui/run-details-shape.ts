/**
 * What /api/runs/<id> answers with for a finished run: built by run-details.ts on the
 * server, drawn by web/run-page.ts in the browser. Type-only imports of node-free modules,
 * so the browser code (tsconfig.web.json) can share it.
 */
import type { StagePlacement } from '../engine/placement.js';
import type { EpochPoint, TimelineStage } from '../viz/specs.js';

export interface RunDetails {
  runId: string;
  pipeline: string;
  pipelineFile: string;
  status: string;
  startedAt: string;
  finishedAt: string;
  trigger: string;
  stopReason?: string;
  sweep?: string;
  params: Record<string, unknown>;
  stageParams: Record<string, Record<string, unknown>>;
  metrics: Record<string, number>;
  environment: Record<string, unknown>;
  timeline: TimelineStage[];
  stages: { name: string; uses: string; status: string; seconds: number; error?: string; reason?: string; hasLog: boolean; ranOn?: StagePlacement }[];
  /** How stages were sent to workers (kind, queue, peak depth), when they were. */
  executor?: Record<string, unknown>;
  epochs: EpochPoint[];
  report?: {
    classes: string[];
    confusion: number[][];
    accuracy: number;
    count: number;
    perClass: { class: string; precision: number; recall: number; f1: number; support: number }[];
    mostConfused: { true: string; predicted: string; count: number }[];
  };
  /** Worst line readings: evaluate-phrases (segmented letters) or evaluate-lines (CTC line model). */
  lines?: { file: string; truth: string; read: string; charErrors?: number; chars?: number; cer: number; overlay?: string }[];
  /** evaluate-lines' picture of the worst lines, errors in red. */
  linesImage?: string;
  plots: { name: string; url: string }[];
  downloads: { name: string; url: string }[];
}
