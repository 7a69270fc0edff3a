/**
 * The evaluation-report artifact (`evaluate.report`): a folder with metrics.json,
 * confusion.csv (rows true, columns predicted), predictions.npy (int32 class per
 * sample) and probabilities.npy (float32 samples × classes).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeNpy, parseNpy } from '../data/npy.js';
import { UserInputError } from '../errors.js';

export interface EvaluationMetrics {
  count: number;
  accuracy: number;
  loss: number;
  subsets: Record<string, { count: number; accuracy: number; loss: number }>;
  per_class: { class: string; precision: number; recall: number; f1: number; support: number }[];
  most_confused: { true: string; predicted: string; count: number }[];
  inference_images_per_second: number;
}

export interface EvaluationReport {
  metrics: EvaluationMetrics;
  classes: string[];
  /** confusion[true][predicted] = count. */
  confusion: number[][];
  predicted: Int32Array;
  /** Row-major samples × classes; written, not read back by any stage (kept out of readEvaluationReport). */
  probabilities?: Float32Array;
}

export async function writeEvaluationReport(dir: string, report: EvaluationReport): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'metrics.json'), JSON.stringify(report.metrics, null, 2) + '\n');
  await writeFile(join(dir, 'confusion.csv'), confusionCsv(report.confusion, report.classes));
  await writeFile(join(dir, 'predictions.npy'), encodeNpy(report.predicted, [report.predicted.length]));
  if (report.probabilities) {
    await writeFile(join(dir, 'probabilities.npy'), encodeNpy(report.probabilities, [report.predicted.length, report.classes.length]));
  }
}

export async function readEvaluationReport(dir: string): Promise<EvaluationReport> {
  const metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')) as EvaluationMetrics;
  const { classes, confusion } = parseConfusionCsv(await readFile(join(dir, 'confusion.csv'), 'utf8'), join(dir, 'confusion.csv'));
  const file = join(dir, 'predictions.npy');
  const predicted = parseNpy(new Uint8Array(await readFile(file)), file).data;
  if (!(predicted instanceof Int32Array)) throw new UserInputError(`${file}: expected int32 class indices`);
  return { metrics, classes, confusion, predicted };
}

export function confusionCsv(confusion: readonly (readonly number[])[], classes: readonly string[]): string {
  const lines = [['true\\predicted', ...classes].join(',')];
  confusion.forEach((row, t) => lines.push([classes[t], ...row].join(',')));
  return lines.join('\n') + '\n';
}

function parseConfusionCsv(text: string, file: string): { classes: string[]; confusion: number[][] } {
  const [header, ...rows] = text.trim().split('\n');
  const classes = (header ?? '').split(',').slice(1);
  const confusion = rows.map((line, i) => {
    const counts = line.split(',').slice(1).map(Number);
    if (counts.length !== classes.length || counts.some((c) => !Number.isInteger(c))) {
      throw new UserInputError(`${file}:${i + 2}: expected ${classes.length} whole-number counts`);
    }
    return counts;
  });
  return { classes, confusion };
}
