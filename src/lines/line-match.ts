/** Scores found text lines against ground-truth lines: which ground truth each found line stands for. */
import { horizontalOverlap, verticalIoU, type LineBox } from './geometry.js';

export interface LineMatchResult {
  /** Ground-truth lines that a found line matches, one to one. */
  matched: number;
  truth: number;
  found: number;
  /** Found lines matching no ground-truth line, and of those, how many lie above the first ground-truth line. */
  extra: number;
  extraAbove: number;
  /** For each ground-truth line, the index of the found line matched to it, or -1. */
  pairs: number[];
}

/**
 * One-to-one matching, best pairs first: a found line matches a ground-truth line when their row ranges
 * overlap by at least `minIoU` (intersection over union) and they share columns.
 */
export function matchLines(truth: readonly LineBox[], found: readonly LineBox[], minIoU = 0.5): LineMatchResult {
  const candidates: [number, number, number][] = [];
  truth.forEach((t, i) => found.forEach((f, j) => {
    const iou = verticalIoU(t, f);
    if (iou >= minIoU && horizontalOverlap(t, f) > 0.3) candidates.push([iou, i, j]);
  }));
  candidates.sort((a, b) => b[0] - a[0]);
  const pairs = new Array<number>(truth.length).fill(-1);
  const used = new Set<number>();
  for (const [, i, j] of candidates) {
    if (pairs[i]! >= 0 || used.has(j)) continue; // i indexes truth, as pairs does
    pairs[i] = j;
    used.add(j);
  }
  const firstTruth = Math.min(...truth.map((t) => t.y));
  const extras = found.filter((_, j) => !used.has(j));
  return {
    matched: pairs.filter((p) => p >= 0).length,
    truth: truth.length,
    found: found.length,
    extra: extras.length,
    extraAbove: extras.filter((f) => f.y + f.height <= firstTruth + 0.5 * f.height).length,
    pairs,
  };
}
