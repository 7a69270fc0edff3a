/**
 * Exact CTC quantities for one given labelling, on plain arrays: its log-likelihood (the forward
 * algorithm) and its most probable alignment (Viterbi). A reference for the decoders, the tests and
 * the tfjs CTC loss.
 *
 * Layout shared by every module in src/lines: `logProbs` is row-major [T, K] natural-log probabilities,
 * index 0 is the CTC blank and index k >= 1 is `charset[k - 1]`.
 */

/** The CTC blank is class 0, as in TensorFlow's tf.nn.ctc_loss. */
export const BLANK = 0;

/** ln(e^a + e^b) without overflow; -Infinity is the log of zero. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

export function checkShape(logProbs: ArrayLike<number>, T: number, K: number, charset?: readonly string[]): void {
  if (!Number.isInteger(T) || T < 0 || !Number.isInteger(K) || K < 1) throw new Error(`CTC input: T=${T}, K=${K} must be whole numbers with K >= 1`);
  if (logProbs.length < T * K) throw new Error(`CTC input: ${logProbs.length} values cannot hold T=${T} frames of K=${K} classes`);
  if (charset && charset.length !== K - 1) {
    throw new Error(`CTC input: the model gives K=${K} classes per frame but the charset has ${charset.length} characters (expected K - 1 = ${K - 1}, blank first); use the charset the model was trained with`);
  }
}

/**
 * ln P(labels | x): the sum over every frame path that collapses to `labels` (forward algorithm).
 * `labels` are class indices 1..K-1. Returns -Infinity when the labelling cannot fit in T frames.
 * Runs in probability space rescaled every frame (Rabiner's scaling): no log or exp per state.
 */
export function ctcLogLikelihood(logProbs: ArrayLike<number>, T: number, K: number, labels: ArrayLike<number>): number {
  checkShape(logProbs, T, K);
  const L = labels.length;
  const S = 2 * L + 1;
  if (T === 0) return L === 0 ? 0 : -Infinity;
  // Every index below is in range: s < S for the state arrays, (s - 1) >> 1 < L for labels, row + k < T·K
  // (checkShape) for logProbs, labels being class indices < K.
  // The extended labelling (blank, l1, blank, l2, ..., blank) and where a state may skip the blank before it.
  const symbol = new Int32Array(S);
  const skip = new Uint8Array(S);
  for (let s = 1; s < S; s += 2) {
    symbol[s] = labels[(s - 1) >> 1]!;
    skip[s] = s >= 3 && symbol[s] !== symbol[s - 2] ? 1 : 0;
  }
  let prev = new Float64Array(S);
  let cur = new Float64Array(S);
  let logScale = 0;
  // Frame 0, rescaled so its states sum to 1.
  prev[0] = Math.exp(logProbs[BLANK]!);
  if (L > 0) prev[1] = Math.exp(logProbs[labels[0]!]!);
  let sum = prev[0]! + (L > 0 ? prev[1]! : 0);
  if (sum === 0) return -Infinity;
  logScale += Math.log(sum);
  for (let s = 0; s < S; s++) prev[s]! /= sum;
  for (let t = 1; t < T; t++) {
    const row = t * K;
    const blank = Math.exp(logProbs[row + BLANK]!);
    sum = 0;
    // Only states from which the end is still reachable and which the start can have reached matter.
    const first = Math.max(0, S - 2 * (T - t));
    const last = Math.min(S - 1, 2 * t + 1);
    for (let s = 0; s < first; s++) cur[s] = 0;
    for (let s = first; s <= last; s++) {
      let a = prev[s]!;
      if (s >= 1) a += prev[s - 1]!;
      if (skip[s]) a += prev[s - 2]!;
      const v = a * (s & 1 ? Math.exp(logProbs[row + symbol[s]!]!) : blank);
      cur[s] = v;
      sum += v;
    }
    for (let s = last + 1; s < S; s++) cur[s] = 0;
    if (sum === 0) return -Infinity;
    logScale += Math.log(sum);
    const inverse = 1 / sum;
    for (let s = first; s <= last; s++) cur[s]! *= inverse;
    [prev, cur] = [cur, prev];
  }
  const end = L === 0 ? prev[0]! : prev[S - 1]! + prev[S - 2]!;
  return end > 0 ? logScale + Math.log(end) : -Infinity;
}

/** Where one label of a labelling sits in its best frame path. */
export interface LabelSpan {
  /** Index 1..K-1 into the model output. */
  label: number;
  /** First and last frame of the label's run in the path (inclusive). */
  frame: number;
  lastFrame: number;
  /** The highest per-frame probability of the label over its run. */
  probability: number;
}

/**
 * The single most probable frame path that collapses to `labels` (Viterbi forced alignment) and
 * its log-probability. Returns null when the labelling cannot fit in T frames.
 */
export function forcedAlignment(logProbs: ArrayLike<number>, T: number, K: number, labels: ArrayLike<number>): { logProb: number; spans: LabelSpan[] } | null {
  checkShape(logProbs, T, K);
  const L = labels.length;
  const S = 2 * L + 1;
  if (T === 0) return L === 0 ? { logProb: 0, spans: [] } : null;
  // Indices as in ctcLogLikelihood: score and from are T × S, labels L long, logProbs T × K.
  const score = new Float64Array(T * S).fill(-Infinity);
  const from = new Int32Array(T * S);
  score[0] = logProbs[BLANK]!;
  if (L > 0) score[1] = logProbs[labels[0]!]!;
  for (let t = 1; t < T; t++) {
    const row = t * K;
    const here = t * S;
    const before = here - S;
    for (let s = 0; s < S; s++) {
      const label = s % 2 === 0 ? BLANK : labels[(s - 1) >> 1]!;
      let best = score[before + s]!;
      let arg = s;
      if (s >= 1 && score[before + s - 1]! > best) [best, arg] = [score[before + s - 1]!, s - 1];
      if (s >= 2 && label !== BLANK && label !== labels[(s - 3) >> 1] && score[before + s - 2]! > best) [best, arg] = [score[before + s - 2]!, s - 2];
      score[here + s] = best + logProbs[row + label]!;
      from[here + s] = arg;
    }
  }
  const last = (T - 1) * S;
  let s = L === 0 || score[last + S - 1]! >= score[last + S - 2]! ? S - 1 : S - 2;
  const logProb = score[last + s]!;
  if (logProb === -Infinity) return null;
  const spans: LabelSpan[] = labels.length ? Array.from({ length: L }, (_, i) => ({ label: labels[i]!, frame: -1, lastFrame: -1, probability: 0 })) : [];
  for (let t = T - 1; t >= 0; t--) {
    const span = s % 2 === 1 ? spans[(s - 1) >> 1] : undefined;
    if (span) {
      if (span.lastFrame < 0) span.lastFrame = t;
      span.frame = t;
      span.probability = Math.max(span.probability, Math.exp(logProbs[t * K + span.label]!));
    }
    if (t > 0) s = from[t * S + s]!;
  }
  return { logProb, spans };
}
