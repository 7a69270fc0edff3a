/** Classification metrics from predicted probabilities: confusion matrix, per-class P/R/F1, worst confusions. */
import { argmax } from './batches.js';

export interface ClassificationReport {
  count: number;
  accuracy: number;
  loss: number;
  confusion: number[][];
  perClass: { class: string; precision: number; recall: number; f1: number; support: number }[];
  mostConfused: { true: string; predicted: string; count: number }[];
}

export function classificationReport(probs: Float32Array, labels: ArrayLike<number>, classes: string[], select?: (i: number) => boolean): ClassificationReport {
  const k = classes.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let loss = 0;
  let count = 0;
  for (let i = 0; i < labels.length; i++) {
    if (select && !select(i)) continue;
    const row = probs.subarray(i * k, (i + 1) * k);
    const label = labels[i]!;
    const truthRow = confusion[label];
    if (!truthRow) throw new RangeError(`label ${label} of sample ${i} is not one of the ${k} classes`);
    truthRow[argmax(row)]!++; // argmax(row) < k
    loss -= Math.log(Math.min(1, Math.max(row[label]!, 1e-7)));
    count++;
  }
  const correct = confusion.reduce((s, row, t) => s + (row[t] ?? 0), 0);
  const perClass = classes.map((name, c) => {
    const row = confusion[c] ?? [];
    const tp = row[c] ?? 0;
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((s, r) => s + (r[c] ?? 0), 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    return { class: name, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, support };
  });
  const pairs: ClassificationReport['mostConfused'] = [];
  confusion.forEach((row, t) => row.forEach((count, p) => {
    if (t !== p && count > 0) pairs.push({ true: classes[t] ?? String(t), predicted: classes[p] ?? String(p), count });
  }));
  pairs.sort((a, b) => b.count - a.count);
  return { count, accuracy: count ? correct / count : 0, loss: count ? loss / count : 0, confusion, perClass, mostConfused: pairs.slice(0, 10) };
}
