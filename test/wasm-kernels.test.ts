/** Every kernel inkflow adds or replaces on the wasm backend, checked against the cpu backend. */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf, type Tf } from '../src/ml/tf.js';

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf('wasm');
});

function random(shape: number[], seed: number): { shape: number[]; data: Float32Array } {
  let s = seed;
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
  return { shape, data };
}

async function onBoth(fn: () => Float32Array[]): Promise<[Float32Array[], Float32Array[]]> {
  await tf.setBackend('cpu');
  const cpu = fn();
  await tf.setBackend('wasm');
  const wasm = fn();
  return [cpu, wasm];
}

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return worst;
}

describe('wasm training kernels agree with cpu', () => {
  const convCases: [number[], number[], number, 'same' | 'valid'][] = [
    [[4, 28, 28, 1], [3, 3, 1, 32], 1, 'same'],
    [[4, 14, 14, 32], [3, 3, 32, 64], 1, 'same'],
    [[3, 13, 11, 5], [3, 3, 5, 7], 2, 'same'],
    [[3, 13, 11, 5], [5, 3, 5, 7], 2, 'valid'],
    [[2, 9, 9, 3], [2, 2, 3, 4], 1, 'valid'],
    [[2, 8, 8, 2], [5, 5, 2, 3], 1, 'same'],
    // Filter gradient from a patch matrix (kh·kw·ci ≤ co), strided and padded.
    [[2, 9, 9, 2], [2, 2, 2, 16], 2, 'valid'],
    [[2, 10, 10, 1], [3, 3, 1, 12], 2, 'same'],
    // Large enough that the batch is cut into chunks for the filter gradient.
    [[3, 64, 64, 2], [3, 3, 2, 64], 1, 'same'],
    // A filter as tall as the input, unpadded (a line model's height fold): its input gradient is one product.
    [[3, 5, 17, 6], [5, 1, 6, 8], 1, 'valid'],
    [[2, 1, 9, 4], [1, 1, 4, 3], 1, 'valid'],
  ];
  it.each(convCases)('conv2d gradients x=%j w=%j stride %i %s', async (xShape, wShape, stride, pad) => {
    const x = random(xShape, 1);
    const w = random(wShape, 2);
    const [cpu, wasm] = await onBoth(() => tf.tidy(() => {
      const grads = tf.grads((a, b) => tf.conv2d(a as never, b as never, stride, pad).square().sum());
      return grads([tf.tensor(x.data, x.shape), tf.tensor(w.data, w.shape)]).map((g) => g.dataSync() as Float32Array);
    }));
    expect(maxRelativeError(wasm[0], cpu[0])).toBeLessThan(1e-4);
    expect(maxRelativeError(wasm[1], cpu[1])).toBeLessThan(1e-4);
  });

  it.each([[[4, 28, 28, 8], 2, 2, 'valid'], [[3, 7, 9, 8], 2, 2, 'valid'], [[2, 6, 6, 6], 2, 2, 'valid'], [[2, 7, 9, 3], 3, 2, 'same'], [[2, 6, 6, 4], 2, 1, 'valid']] as [number[], number, number, 'same' | 'valid'][])(
    'max-pool gradient x=%j pool %i stride %i %s',
    async (shape, pool, stride, pad) => {
      const x = random(shape, 3);
      const [cpu, wasm] = await onBoth(() => tf.tidy(() => {
        const g = tf.grad((a) => tf.maxPool(a as never, pool, stride, pad).square().sum());
        return [g(tf.tensor(x.data, x.shape)).dataSync() as Float32Array];
      }));
      expect(maxRelativeError(wasm[0], cpu[0])).toBeLessThan(1e-5);
    },
  );

  it('matMul with transposed operands', async () => {
    const a = random([37, 53], 4);
    const b = random([29, 53], 5);
    const [cpu, wasm] = await onBoth(() => tf.tidy(() => [
      tf.matMul(tf.tensor2d(a.data, [37, 53]), tf.tensor2d(b.data, [29, 53]), false, true).dataSync() as Float32Array,
      tf.matMul(tf.tensor2d(a.data, [37, 53]), tf.tensor2d(a.data, [37, 53]), true, false).dataSync() as Float32Array,
      tf.matMul(tf.tensor3d(a.data.slice(0, 2 * 6 * 5), [2, 6, 5]), tf.tensor3d(b.data.slice(0, 2 * 4 * 6), [2, 6, 4]), true, false).dataSync() as Float32Array,
    ]));
    for (let i = 0; i < cpu.length; i++) expect(maxRelativeError(wasm[i], cpu[i])).toBeLessThan(1e-5);
  });

  it('sums over leading axes, and other axes as before', async () => {
    const x = random([4, 5, 6, 8], 6);
    const [cpu, wasm] = await onBoth(() => tf.tidy(() => {
      const t = tf.tensor(x.data, x.shape);
      return [t.sum([0, 1, 2]), t.sum([0, 1]), t.sum(0, true), t.sum([1, 2]), t.sum(-1), t.reshape([4, 5, 6, 2, 4]).sum([0, 1, 2, 3])]
        .map((s) => s.dataSync() as Float32Array);
    }));
    for (let i = 0; i < cpu.length; i++) expect(maxRelativeError(wasm[i], cpu[i])).toBeLessThan(1e-5);
  });

  it('transposes, including two-axis swaps with power-of-two strides', async () => {
    const x = random([64, 32, 6], 7);
    const [cpu, wasm] = await onBoth(() => tf.tidy(() => {
      const t = tf.tensor(x.data, x.shape);
      return [
        t.reshape([2048, 6]).transpose(), t.transpose([2, 0, 1]), t.transpose([1, 2, 0]), t.transpose([0, 2, 1]),
        t.reshape([8, 8, 32, 6]).transpose([0, 1, 3, 2]), t.reshape([8, 8, 32, 6]).transpose([3, 1, 0, 2]), t.reshape([3, 4096]).transpose(),
      ].map((s) => s.dataSync() as Float32Array);
    }));
    for (let i = 0; i < cpu.length; i++) expect(wasm[i]).toEqual(cpu[i]);
  });

  it('relu gradient, and identity/cast that share data instead of copying', async () => {
    const x = random([3, 7, 5, 4], 8);
    const odd = random([3, 7], 9);
    const [cpu, wasm] = await onBoth(() => tf.tidy(() => {
      const grad = tf.grad((a) => tf.relu(a).mul(tf.range(0, 420).reshape([3, 7, 5, 4])).sum());
      const gradOdd = tf.grad((a) => tf.relu(a).square().sum());
      const t = tf.tensor(x.data, x.shape);
      const copy = tf.clone(t);
      t.dispose();
      return [grad(tf.tensor(x.data, x.shape)), gradOdd(tf.tensor(odd.data, [3, 7])), copy, tf.cast(copy, 'float32'), tf.cast(copy, 'int32')]
        .map((s) => Float32Array.from(s.dataSync()));
    }));
    for (let i = 0; i < cpu.length; i++) expect(wasm[i]).toEqual(cpu[i]);
  });

  it('matrix products whose left operand is much smaller than the right', async () => {
    const dy = random([8, 16], 10);
    const w = random([300, 16], 11);
    const [cpu, wasm] = await onBoth(() => tf.tidy(() => [
      tf.matMul(tf.tensor2d(dy.data, [8, 16]), tf.tensor2d(w.data, [300, 16]), false, true),
      tf.matMul(tf.tensor2d(dy.data, [16, 8]), tf.tensor2d(w.data, [16, 300]), true, false),
      tf.matMul(tf.tensor2d(dy.data, [8, 16]), tf.tensor2d(w.data, [16, 300])),
    ].map((s) => s.dataSync() as Float32Array)));
    for (let i = 0; i < cpu.length; i++) expect(maxRelativeError(wasm[i], cpu[i])).toBeLessThan(1e-5);
  });

  it('tile for float and int tensors', async () => {
    const [cpu, wasm] = await onBoth(() => tf.tidy(() => [
      tf.tile(tf.tensor([1, 2, 3, 4, 5, 6], [1, 2, 3]), [4, 3, 2]).dataSync() as Float32Array,
      Float32Array.from(tf.tile(tf.tensor([1, 2, 3], [3, 1], 'int32'), [2, 5]).dataSync()),
    ]));
    expect(wasm[0]).toEqual(cpu[0]);
    expect(wasm[1]).toEqual(cpu[1]);
  });

  it('runs XNNPACK on more than one thread where the machine has cores', async () => {
    const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
    const { availableParallelism } = await import('node:os');
    expect(getThreadsCount()).toBe(Math.min(8, availableParallelism()));
  });
});
