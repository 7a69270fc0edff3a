/**
 * CTC loss (Graves et al., 2006) for tfjs, which has none. For each line the
 * forward-backward recursions run in log space over the label sequence with
 * blanks interleaved, on the CPU from the logits' values; their cost (T × 2L+1
 * states) is small beside the convolutions that produce the logits. The exact
 * gradient with respect to the logits, softmax minus each frame's label
 * posteriors, is handed to tfjs through `customGrad`.
 *
 * Conventions follow TensorFlow's `tf.nn.ctc_loss`: the blank is class 0, and
 * a line whose labels cannot fit its frames (too short an image) contributes
 * zero loss and zero gradient and is counted in `infeasible`.
 */
import type { Scalar, Tensor3D } from '@tensorflow/tfjs';
import type { Tf } from '../ml/tf.js';
import { BLANK, logAddExp } from './ctc-align.js';

export { BLANK };

export interface CtcBatch {
  /** Labels per line, each in 1..K-1 (0 is the blank). */
  labels: readonly Int32Array[];
  /** Valid frames per line; frames past it are padding and get no gradient. */
  frames: readonly number[];
}

export interface CtcResult {
  /** −log p(labels | logits) per line; 0 for infeasible lines. */
  losses: Float64Array;
  /** d(mean loss)/d(logits), [B, T, K]. */
  grad: Float32Array;
  /** Lines whose labels need more frames than they have. */
  infeasible: number;
}

const NEG_INF = -Infinity;


/** Frames a label sequence needs: one per label, plus a blank between repeats. */
export function minimumFrames(labels: ArrayLike<number>): number {
  let n = labels.length;
  for (let i = 1; i < labels.length; i++) if (labels[i] === labels[i - 1]) n++;
  return n;
}

/** Mean CTC loss over the batch and its gradient, from logits laid out [B, T, K]. */
export function ctcLossAndGradient(logits: Float32Array, shape: readonly [number, number, number], batch: CtcBatch): CtcResult {
  const [B, T, K] = shape;
  const losses = new Float64Array(B);
  const grad = new Float32Array(B * T * K);
  let infeasible = 0;
  const logp = new Float64Array(T * K);
  const prob = new Float64Array(T * K);
  for (let b = 0; b < B; b++) {
    const frames = Math.min(batch.frames[b] ?? T, T);
    const labels = batch.labels[b] ?? new Int32Array(0);
    const base = b * T * K;
    logSoftmaxRows(logits, base, frames, K, logp, prob);
    const S = 2 * labels.length + 1;
    if (frames === 0 || minimumFrames(labels) > frames) {
      infeasible++;
      continue;
    }
    const ext = new Int32Array(S);
    for (let s = 1; s < S; s += 2) ext[s] = labels[(s - 1) >> 1]!;
    const alpha = forward(logp, frames, K, ext);
    const beta = backward(logp, frames, K, ext);
    const logP = logAddExp(alpha[(frames - 1) * S + S - 1]!, S > 1 ? alpha[(frames - 1) * S + S - 2]! : NEG_INF);
    if (!Number.isFinite(logP)) {
      infeasible++;
      continue;
    }
    losses[b] = -logP;
    // d(−log p)/dz[t,k] = softmax[t,k] − Σ_{s: ext[s]=k} exp(α[t,s] + β[t,s] − log p); the mean over B scales it.
    const posterior = new Float64Array(K);
    for (let t = 0; t < frames; t++) {
      posterior.fill(0);
      const [first, last] = liveStates(S, frames, t);
      for (let s = first; s <= last; s++) {
        const g = alpha[t * S + s]! + beta[t * S + s]! - logP;
        if (g > -60) posterior[ext[s]!]! += Math.exp(g);
      }
      const row = base + t * K;
      for (let k = 0; k < K; k++) grad[row + k] = (prob[t * K + k]! - posterior[k]!) / B;
    }
  }
  return { losses, grad, infeasible };
}

/** Each frame's log-softmax into `logp` and softmax into `prob`, exponentiating each logit once. */
function logSoftmaxRows(logits: Float32Array, base: number, frames: number, K: number, logp: Float64Array, prob: Float64Array): void {
  for (let t = 0; t < frames; t++) {
    const row = base + t * K;
    let max = NEG_INF;
    for (let k = 0; k < K; k++) max = Math.max(max, logits[row + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += prob[t * K + k] = Math.exp(logits[row + k]! - max);
    const logSum = Math.log(sum);
    for (let k = 0; k < K; k++) {
      logp[t * K + k] = logits[row + k]! - max - logSum;
      prob[t * K + k]! /= sum;
    }
  }
}

/**
 * The states of frame t on some path through all the labels: reachable from the
 * start in t + 1 frames (two states per frame at most) and able to reach the end
 * in the frames left. α and β are −∞ outside, and never computed there.
 */
function liveStates(S: number, frames: number, t: number): [number, number] {
  return [Math.max(0, S - 2 * (frames - t)), Math.min(S - 1, 2 * t + 1)];
}

/** α[t,s]: log probability of the prefixes ending in state s at frame t, emission at t included. */
function forward(logp: Float64Array, frames: number, K: number, ext: Int32Array): Float64Array {
  const S = ext.length;
  const alpha = new Float64Array(frames * S).fill(NEG_INF);
  alpha[0] = logp[ext[0]!]!;
  if (S > 1) alpha[1] = logp[ext[1]!]!;
  for (let t = 1; t < frames; t++) {
    const prev = (t - 1) * S;
    const [first, last] = liveStates(S, frames, t);
    for (let s = first; s <= last; s++) {
      let a = alpha[prev + s]!;
      if (s >= 1) a = logAddExp(a, alpha[prev + s - 1]!);
      if (s >= 2 && ext[s] !== BLANK && ext[s] !== ext[s - 2]) a = logAddExp(a, alpha[prev + s - 2]!);
      if (a !== NEG_INF) alpha[t * S + s] = a + logp[t * K + ext[s]!]!;
    }
  }
  return alpha;
}

/** β[t,s]: log probability of completing the labels from state s at frame t, emission at t excluded. */
function backward(logp: Float64Array, frames: number, K: number, ext: Int32Array): Float64Array {
  const S = ext.length;
  const beta = new Float64Array(frames * S).fill(NEG_INF);
  const end = (frames - 1) * S;
  beta[end + S - 1] = 0;
  if (S > 1) beta[end + S - 2] = 0;
  for (let t = frames - 2; t >= 0; t--) {
    const next = (t + 1) * S;
    const emit = (t + 1) * K;
    // States past `last` feed only states of earlier frames that are past theirs.
    const [first, last] = liveStates(S, frames, t);
    for (let s = first; s <= last; s++) {
      let b = beta[next + s]! + logp[emit + ext[s]!]!;
      if (s + 1 < S) b = logAddExp(b, beta[next + s + 1]! + logp[emit + ext[s + 1]!]!);
      if (s + 2 < S && ext[s + 2] !== BLANK && ext[s + 2] !== ext[s]) b = logAddExp(b, beta[next + s + 2]! + logp[emit + ext[s + 2]!]!);
      beta[t * S + s] = b;
    }
  }
  return beta;
}

export interface CtcLossOutput {
  loss: Scalar;
  /** Per-line losses and infeasible count of the last evaluation, read after the loss is computed. */
  details: () => Pick<CtcResult, 'losses' | 'infeasible'>;
}

/**
 * Mean CTC loss of logits [B, T, K] as a differentiable tfjs scalar. The
 * forward pass reads the logits synchronously; the backward pass returns the
 * gradient computed with it.
 */
export function ctcLoss(tf: Tf, logits: Tensor3D, batch: CtcBatch): CtcLossOutput {
  let last: CtcResult | undefined;
  const op = tf.customGrad((x) => {
    const input = x as Tensor3D;
    const shape = input.shape as [number, number, number];
    const result = ctcLossAndGradient(input.dataSync() as Float32Array, shape, batch);
    last = result;
    let sum = 0;
    for (const l of result.losses) sum += l;
    return {
      value: tf.scalar(sum / shape[0]),
      gradFunc: (dy) => tf.mul(dy, tf.tensor3d(result.grad, shape)),
    };
  });
  const loss = op(logits) as Scalar;
  return { loss, details: () => ({ losses: last!.losses, infeasible: last!.infeasible }) };
}
