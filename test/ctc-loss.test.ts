/**
 * CTC loss checked numerically: against TensorFlow's tf.nn.ctc_loss (losses and
 * gradients, from the Python interop environment) and against finite differences.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { ctcLoss, ctcLossAndGradient, minimumFrames } from '../src/lines/ctc-loss.js';
import { loadTf, type Tf } from '../src/ml/tf.js';
import { rng } from '../src/util/random.js';
import { ROOT } from './helpers.js';

const PYTHON = join(ROOT, '.venv', 'bin', 'python');

interface Problem {
  logits: Float32Array;
  shape: [number, number, number];
  labels: Int32Array[];
  frames: number[];
}

/** Random logits and label sequences, with repeated labels and padded frames. */
function problem(seed: number, B: number, T: number, K: number): Problem {
  const random = rng(seed);
  const logits = Float32Array.from({ length: B * T * K }, () => (random() - 0.5) * 6);
  const frames: number[] = [];
  const labels: Int32Array[] = [];
  for (let b = 0; b < B; b++) {
    const f = b === 0 ? T : Math.max(2, T - Math.floor(random() * (T / 2)));
    let label: Int32Array;
    do {
      const n = 1 + Math.floor(random() * Math.max(1, f / 2));
      label = Int32Array.from({ length: n }, (_, i) => (i > 0 && random() < 0.25 ? -1 : 1 + Math.floor(random() * (K - 1))));
      for (let i = 0; i < label.length; i++) if (label[i] === -1) label[i] = label[i - 1]!;
    } while (minimumFrames(label) > f);
    frames.push(f);
    labels.push(label);
  }
  return { logits, shape: [B, T, K], labels, frames };
}

function nested(p: Problem): number[][][] {
  const [B, T, K] = p.shape;
  return Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Array.from(p.logits.subarray((b * T + t) * K, (b * T + t + 1) * K))));
}

describe('CTC loss', () => {
  it('matches TensorFlow tf.nn.ctc_loss in loss and gradient', async () => {
    if (!existsSync(PYTHON)) await execa('bash', [join(ROOT, 'scripts', 'setup-python-env.sh')], { stdio: 'inherit' });
    const problems = ([[1, 3, 12, 5], [2, 4, 30, 9], [3, 2, 60, 40]] as const).map(([seed, B, T, K]) => problem(seed, B, T, K));
    const input = JSON.stringify(problems.map((p) => ({ logits: nested(p), labels: p.labels.map((l) => Array.from(l)), frames: p.frames })));
    const r = await execa(PYTHON, [join(ROOT, 'test', 'python', 'ctc_reference.py')], { input, env: { TF_CPP_MIN_LOG_LEVEL: '3' } });
    const references = JSON.parse(r.stdout) as { losses: number[]; grad: number[][][] }[];
    problems.forEach((p, i) => {
      const reference = references[i]!;
      const ours = ctcLossAndGradient(p.logits, p.shape, p);
      expect(ours.infeasible).toBe(0);
      reference.losses.forEach((l, b) => expect(ours.losses[b]).toBeCloseTo(l, 3));
      let worst = 0;
      reference.grad.flat(2).forEach((g, j) => (worst = Math.max(worst, Math.abs(g - ours.grad[j]!))));
      expect(worst).toBeLessThan(1e-5);
    });
  }, 300_000);

  it('has the gradient of finite differences', () => {
    const p = problem(7, 2, 9, 4);
    const { grad } = ctcLossAndGradient(p.logits, p.shape, p);
    const mean = (logits: Float32Array) => ctcLossAndGradient(logits, p.shape, p).losses.reduce((a, b) => a + b, 0) / p.shape[0];
    const eps = 1e-2;
    for (let i = 0; i < p.logits.length; i += 3) {
      const plus = Float32Array.from(p.logits);
      const minus = Float32Array.from(p.logits);
      plus[i]! += eps;
      minus[i]! -= eps;
      expect(grad[i]!).toBeCloseTo((mean(plus) - mean(minus)) / (2 * eps), 3);
    }
  });

  it('gives an infeasible line (too few frames) zero loss and gradient', () => {
    const logits = new Float32Array(1 * 3 * 4).fill(0.5);
    const r = ctcLossAndGradient(logits, [1, 3, 4], { labels: [Int32Array.from([1, 1, 2])], frames: [3] });
    expect(r.infeasible).toBe(1);
    expect(r.losses[0]).toBe(0);
    expect(r.grad.every((g) => g === 0)).toBe(true);
  });

  it('gives padded frames no gradient', () => {
    const p = problem(11, 2, 10, 5);
    p.frames[1] = 6;
    const { grad } = ctcLossAndGradient(p.logits, p.shape, p);
    const [, T, K] = p.shape;
    expect(grad.subarray((T + 6) * K, 2 * T * K).every((g) => g === 0)).toBe(true);
    expect(grad.subarray(T * K, (T + 6) * K).some((g) => g !== 0)).toBe(true);
  });

  describe('as a tfjs op', () => {
    let tf: Tf;
    beforeAll(async () => {
      tf = await loadTf('cpu');
    });

    it('back-propagates the same gradient through tf.grad', () => {
      const p = problem(5, 3, 20, 7);
      const expected = ctcLossAndGradient(p.logits, p.shape, p);
      const x = tf.tensor3d(p.logits, p.shape);
      const g = tf.grad((logits) => ctcLoss(tf, logits as typeof x, p).loss)(x);
      const got = g.dataSync();
      expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - expected.grad[i]!)))).toBeLessThan(1e-6);
      const value = ctcLoss(tf, x, p).loss.dataSync()[0]!;
      expect(value).toBeCloseTo(expected.losses.reduce((a, b) => a + b, 0) / 3, 4);
      tf.dispose([x, g]);
    });
  });
});
