/** Everything the run page shows, gathered from a run record and the artifact store. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import { join } from 'node:path';
import { ArtifactStore } from '../engine/store.js';
import type { EpochPoint, TimelineStage } from '../viz/specs.js';
import type { RunDetails } from './run-details-shape.js';
import { flatMetrics, runStatus, type RunRecord } from '../engine/run-record.js';
import { redact } from './records.js';
import { readEvaluationReport } from '../artifacts/evaluation-report.js';
import { readTrainingHistory } from '../artifacts/training-history.js';
import { readDataset, sampleSize, type Dataset } from '../data/dataset.js';
import { encodeGrayPng } from '../phrases/png.js';

/** URL of a file inside a stored stage output, served by the /artifacts route. */
export function objectUrl(key: string, output: string, file = ''): string {
  return `/artifacts/objects/${key.slice(0, 2)}/${key}/out/${output}${file ? `/${file}` : ''}`;
}

type StoredStage = [name: string, stage: { key?: string; status: string }];

/** The stages of a module whose outputs are in the store, in pipeline order. */
function stagesOfKind(record: RunRecord, uses: string): StoredStage[] {
  return Object.entries(record.stages).filter(([, s]) => s.uses === uses && s.key && (s.status === 'ran' || s.status === 'cached'));
}

function stageOfKind(record: RunRecord, uses: string): StoredStage | undefined {
  return stagesOfKind(record, uses)[0];
}

export async function runDetails(record: RunRecord, workspace: string): Promise<RunDetails> {
  const store = new ArtifactStore(join(workspace, 'artifacts'));
  const runsDir = join(workspace, 'logs', 'runs');
  const logStages = new Set(await readdir(join(runsDir, record.runId)).catch(() => [] as string[]));
  const details: RunDetails = {
    runId: record.runId,
    pipeline: record.pipeline,
    pipelineFile: record.pipelineFile,
    status: runStatus(record),
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    trigger: record.trigger,
    stopReason: record.stopReason,
    sweep: record.experiment?.sweep,
    params: redact(record.params),
    stageParams: Object.fromEntries(Object.entries(record.stageParams).map(([k, v]) => [k, redact(v)])),
    metrics: flatMetrics(record),
    environment: redact(record.environment ?? {}),
    timeline: timeline(record),
    stages: Object.entries(record.stages).map(([name, s]) => ({ name, uses: s.uses, status: s.status, seconds: s.seconds, error: s.error, reason: s.reason, hasLog: logStages.has(name), ...(s.ranOn ? { ranOn: s.ranOn } : {}) })),
    ...(record.executor ? { executor: record.executor } : {}),
    epochs: await epochs(record, store),
    plots: [],
    downloads: [],
  };
  const evaluate = stageOfKind(record, 'evaluate');
  if (evaluate) details.report = await readReport(store.outputPath(evaluate[1].key!, 'report'));
  const phrases = stageOfKind(record, 'evaluate-phrases');
  if (phrases) details.lines = await worstPhrases(store.outputPath(phrases[1].key!, 'report'), phrases[1].key!);
  const lines = stageOfKind(record, 'evaluate-lines');
  if (lines) {
    const dir = store.outputPath(lines[1].key!, 'report');
    details.lines = await worstLines(dir);
    if (await stat(join(dir, 'worst-lines.png')).catch(() => undefined)) details.linesImage = objectUrl(lines[1].key!, 'report', 'worst-lines.png');
  }
  const visualize = stageOfKind(record, 'visualize');
  if (visualize) {
    const files = await readdir(store.outputPath(visualize[1].key!, 'plots')).catch(() => [] as string[]);
    details.plots = files.filter((f) => f.endsWith('.png')).sort().map((f) => ({ name: f, url: objectUrl(visualize[1].key!, 'plots', f) }));
  }
  const saved = stageOfKind(record, 'save-hdf5');
  if (saved) {
    details.downloads.push({ name: 'model.h5 (Keras)', url: objectUrl(saved[1].key!, 'keras', 'model.h5') });
    details.downloads.push({ name: 'model.json (tfjs)', url: objectUrl(saved[1].key!, 'tfjs', 'model.json') });
    details.downloads.push({ name: 'weights.bin (tfjs)', url: objectUrl(saved[1].key!, 'tfjs', 'weights.bin') });
  }
  const labels = stageOfKind(record, 'write-labels');
  if (labels) details.downloads.push({ name: 'labels.json', url: objectUrl(labels[1].key!, 'labels') });
  return details;
}

/**
 * Stage bars in seconds from the run's start. Records written before stages
 * kept their start time are laid out one after another in record order.
 */
function timeline(record: RunRecord): TimelineStage[] {
  const t0 = Date.parse(record.startedAt);
  const entries = Object.entries(record.stages);
  if (entries.every(([, s]) => s.startedAt)) {
    return entries
      .map(([stage, s]) => {
        const start = Math.max(0, (Date.parse(s.startedAt!) - t0) / 1000);
        return { stage, status: s.status, start, end: start + s.seconds };
      })
      .sort((a, b) => a.start - b.start);
  }
  let clock = 0;
  return entries.map(([stage, s]) => {
    const start = clock;
    clock += s.seconds;
    return { stage, status: s.status, start, end: clock };
  });
}

async function epochs(record: RunRecord, store: ArtifactStore): Promise<EpochPoint[]> {
  // A letter trainer's history, else the last line trainer's (lines.yaml's second phase trains the model it saves).
  const train = stageOfKind(record, 'train') ?? stagesOfKind(record, 'train-lines').at(-1);
  if (train) {
    try {
      return (await readTrainingHistory(store.outputPath(train[1].key!, 'history'))).epochs;
    } catch {
      // history not in the store (gc'd): fall back to the epochs the record kept, if any
    }
  }
  const kept = Object.values(record.stages).find((s) => Array.isArray((s as { epochs?: unknown }).epochs));
  return ((kept as { epochs?: EpochPoint[] } | undefined)?.epochs) ?? [];
}

async function readReport(dir: string): Promise<RunDetails['report']> {
  try {
    const { classes, confusion, metrics: m } = await readEvaluationReport(dir);
    // Reports written before per_class and most_confused existed lack them.
    return { classes, confusion, accuracy: m.accuracy, count: m.count, perClass: m.per_class ?? [], mostConfused: m.most_confused ?? [] };
  } catch {
    return undefined;
  }
}

/** evaluate-lines' per-line readings (id, reference, one column per decoder, cer), worst first; the last decoder is the best. */
async function worstLines(dir: string, limit = 12): Promise<RunDetails['lines']> {
  const text = await readFile(join(dir, 'lines.csv'), 'utf8').catch(() => '');
  if (!text.trim()) return [];
  const rows = parseCsv(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  const decoders = Object.keys(rows[0] ?? {}).filter((k) => !['id', 'reference', 'cer'].includes(k));
  const best = decoders[decoders.length - 1];
  return rows
    .map((r) => ({ file: r.id ?? '', truth: r.reference ?? '', read: (best && r[best]) ?? '', cer: Number(r.cer) }))
    .sort((a, b) => b.cer - a.cer)
    .slice(0, limit);
}

/** evaluate-phrases' readings with the most character errors first. */
async function worstPhrases(dir: string, key: string, limit = 12): Promise<RunDetails['lines']> {
  const text = await readFile(join(dir, 'per_phrase.csv'), 'utf8').catch(() => '');
  const overlays = new Set(await readdir(join(dir, 'overlays')).catch(() => [] as string[]));
  const rows = text.trim().split('\n').slice(1).filter(Boolean).map((line) => {
    // file,truth,read,char_errors,chars,word_errors,words: the file and truth hold no commas, the numbers are the last four.
    const [file = '', truth = '', ...rest] = line.split(',');
    const [charErrors = NaN, chars = NaN] = rest.slice(-4).map(Number);
    const name = file.replace(/^images\//, '');
    return { file, truth, read: rest.slice(0, -4).join(','), charErrors, chars, cer: charErrors / Math.max(1, chars), overlay: overlays.has(name) ? objectUrl(key, 'report', `overlays/${name}`) : undefined };
  });
  return rows.sort((a, b) => b.cer - a.cer).slice(0, limit);
}

/** The test images behind one confusion-matrix cell, read from the evaluated dataset. */
export class EvaluationSamples {
  private cache = new Map<string, Promise<{ dataset: Dataset; predicted: Int32Array } | undefined>>();

  constructor(private readonly workspace: string) {}

  private load(record: RunRecord) {
    let hit = this.cache.get(record.runId);
    if (!hit) {
      hit = this.read(record);
      this.cache.set(record.runId, hit);
      if (this.cache.size > 4) this.cache.delete(this.cache.keys().next().value!);
    }
    return hit;
  }

  private async read(record: RunRecord) {
    const store = new ArtifactStore(join(this.workspace, 'artifacts'));
    const evaluate = Object.values(record.stages).find((s) => s.uses === 'evaluate' && s.key);
    const digest = evaluate?.ingredients?.inputs.dataset;
    if (!evaluate || !digest) return undefined;
    for (const s of Object.values(record.stages)) {
      if (!s.key) continue;
      const manifest = await store.lookup(s.key);
      const output = manifest && Object.entries(manifest.outputs).find(([, o]) => o.digest === digest);
      if (!output) continue;
      const dataset = await readDataset(store.outputPath(s.key, output[0]));
      const { predicted } = await readEvaluationReport(store.outputPath(evaluate.key!, 'report'));
      return { dataset, predicted };
    }
    return undefined;
  }

  async cell(record: RunRecord, trueClass: string, predictedClass: string, limit = 60): Promise<number[] | undefined> {
    const loaded = await this.load(record);
    if (!loaded) return undefined;
    const classes = loaded.dataset.meta.classes;
    const [t, p] = [classes.indexOf(trueClass), classes.indexOf(predictedClass)];
    if (t < 0 || p < 0) return [];
    const out: number[] = [];
    for (let i = 0; i < loaded.predicted.length && out.length < limit; i++) if (loaded.dataset.labels[i] === t && loaded.predicted[i] === p) out.push(i);
    return out;
  }

  /** One test image as a PNG, dark ink on paper as people see handwriting. */
  async png(record: RunRecord, index: number): Promise<Uint8Array | undefined> {
    const loaded = await this.load(record);
    if (!loaded || !Number.isInteger(index) || index < 0 || index >= loaded.dataset.meta.count) return undefined;
    const { meta, images } = loaded.dataset;
    const [h, w] = meta.sampleShape;
    if (h === undefined || w === undefined) return undefined;
    const size = sampleSize(meta);
    const pixels = images.subarray(index * size, index * size + h * w);
    const gray = Array.from(pixels, (v) => 255 - Math.round(Math.min(1, v * meta.scale) * 255));
    return encodeGrayPng(w, h, gray);
  }
}
