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
    confusion[labels[i]][argmax(row)]++;
    loss -= Math.log(Math.min(1, Math.max(row[labels[i]], 1e-7)));
    count++;
  }
  const correct = confusion.reduce((s, row, t) => s + row[t], 0);
  const perClass = classes.map((name, c) => {
    const tp = confusion[c][c];
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((s, row) => s + row[c], 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    return { class: name, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, support };
  });
  const pairs: ClassificationReport['mostConfused'] = [];
  for (let t = 0; t < k; t++) for (let p = 0; p < k; p++) if (t !== p && confusion[t][p] > 0) pairs.push({ true: classes[t], predicted: classes[p], count: confusion[t][p] });
  pairs.sort((a, b) => b.count - a.count);
  return { count, accuracy: count ? correct / count : 0, loss: count ? loss / count : 0, confusion, perClass, mostConfused: pairs.slice(0, 10) };
}
