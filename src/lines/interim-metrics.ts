/** Greedy CTC decoding and edit distance, enough for validation during training. */

/** Best path: the most probable class per frame, repeats collapsed, blanks (0) dropped. */
export function greedyLabels(logProbs: Float32Array, frames: number, K: number): number[] {
  const out: number[] = [];
  let prev = -1;
  for (let t = 0; t < frames; t++) {
    let best = 0;
    let bestV = -Infinity;
    for (let k = 0; k < K; k++) {
      const v = logProbs[t * K + k]!;
      if (v > bestV) {
        bestV = v;
        best = k;
      }
    }
    if (best !== prev && best !== 0) out.push(best);
    prev = best;
  }
  return out;
}

export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
