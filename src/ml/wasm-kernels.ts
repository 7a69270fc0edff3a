/**
 * Convolution gradients for the WebAssembly backend, expressed as forward
 * convolutions so they run on XNNPACK like the forward pass does. Stock
 * tfjs-backend-wasm has no Conv2DBackpropFilter (a conv net cannot train) and a
 * slow direct Conv2DBackpropInput. Verified against the cpu backend in
 * test/wasm-kernels.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';

type TensorInfo = tf.TensorInfo;
type Backend = {
  disposeData(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
};
type KernelArgs = { inputs: Record<string, TensorInfo>; attrs: Record<string, unknown>; backend: Backend };

function call(name: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>, backend: Backend): TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
  return kernel.kernelFunc({ inputs, attrs, backend } as never) as TensorInfo;
}

type ConvPad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

function convInfo(xShape: number[], filterShape: number[], attrs: Record<string, unknown>) {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as ConvPad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

function requireChannelsLast(kernel: string, attrs: Record<string, unknown>) {
  if (attrs.dataFormat && attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports only channels-last (NHWC) data, got ${String(attrs.dataFormat)}`);
  }
}

/**
 * dW[kh,kw,ci,co] = Σ_{b,oh,ow} xp[b, oh·s+kh, ow·s+kw, ci] · dy[b,oh,ow,co], xp being x
 * zero-padded as the forward pass padded it. Written as a forward convolution
 * with batch and channels swapped, in one of two orientations: XNNPACK packs
 * the filter operand afresh on every call (its cost grows with the filter's
 * size), so the smaller of x and dy plays the filter.
 */
function conv2DBackpropFilter({ inputs, attrs, backend }: KernelArgs): TensorInfo {
  const { x, dy } = inputs;
  requireChannelsLast('Conv2DBackpropFilter', attrs);
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs);
  const { top, bottom, left, right } = info.padInfo;
  const paddedX = x.shape[0] * (x.shape[1] + top + bottom) * (x.shape[2] + left + right) * x.shape[3];
  const dySize = dy.shape.reduce((a, b) => a * b, 1);
  const grad = info.strideHeight === 1 && info.strideWidth === 1 && 2 * paddedX < dySize
    ? filterGradXAsFilter(x, dy, filterShape, [top, bottom, left, right], backend)
    : filterGradDyAsFilter(x, dy, filterShape, info, backend);
  return grad;
}

/** dy plays the filter, dilated by the stride; output [ci, kh, kw, co]. */
function filterGradDyAsFilter(x: TensorInfo, dy: TensorInfo, filterShape: number[], info: tf.backend_util.Conv2DInfo, backend: Backend): TensorInfo {
  const [kh, kw, ci, co] = filterShape;
  const { top, bottom, left, right } = info.padInfo;
  const xT = call('Transpose', { x }, { perm: [3, 1, 2, 0] }, backend);
  const dyT = call('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }, backend);
  let grad = call('Conv2D', { x: xT, filter: dyT }, {
    strides: [1, 1],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dilations: [info.strideHeight, info.strideWidth],
    dataFormat: 'NHWC',
  }, backend);
  dispose(backend, xT, dyT);
  if (grad.shape[1] !== kh || grad.shape[2] !== kw) {
    const sliced = call('Slice', { x: grad }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] }, backend);
    dispose(backend, grad);
    grad = sliced;
  }
  const out = call('Transpose', { x: grad }, { perm: [1, 2, 0, 3] }, backend);
  dispose(backend, grad);
  return out;
}

/**
 * Stride 1 only: padded x plays the filter over dy padded by kernel-1 on each
 * side; out[co, j, ci] = dW[kernel-1-j], so the result is reversed spatially.
 */
function filterGradXAsFilter(x: TensorInfo, dy: TensorInfo, filterShape: number[], pad: number[], backend: Backend): TensorInfo {
  const [kh, kw] = filterShape;
  const [top, bottom, left, right] = pad;
  const dyT = call('Transpose', { x: dy }, { perm: [3, 1, 2, 0] }, backend);
  const padded = top || bottom || left || right
    ? call('PadV2', { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 }, backend)
    : x;
  const xF = call('Transpose', { x: padded }, { perm: [1, 2, 0, 3] }, backend);
  if (padded !== x) dispose(backend, padded);
  const grad = call('Conv2D', { x: dyT, filter: xF }, {
    strides: [1, 1],
    pad: [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]],
    dilations: [1, 1],
    dataFormat: 'NHWC',
  }, backend);
  dispose(backend, dyT, xF);
  const reversed = call('Reverse', { x: grad }, { dims: [1, 2] }, backend);
  dispose(backend, grad);
  const out = call('Transpose', { x: reversed }, { perm: [1, 2, 3, 0] }, backend);
  dispose(backend, reversed);
  return out;
}

function dispose(backend: Backend, ...tensors: TensorInfo[]) {
  for (const t of tensors) backend.disposeData(t.dataId);
}

/**
 * For stride 1, dx is dy convolved with the filter rotated 180° and its channel
 * axes swapped, padded so the output has the input's size.
 */
function makeConv2DBackpropInput(fallback: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo => {
    const { inputs, attrs, backend } = args;
    const { dy, filter } = inputs;
    requireChannelsLast('Conv2DBackpropInput', attrs);
    const inputShape = attrs.inputShape as number[];
    const info = convInfo(inputShape, filter.shape, attrs);
    const [kh, kw] = filter.shape;
    const padTop = kh - 1 - info.padInfo.top;
    const padLeft = kw - 1 - info.padInfo.left;
    const padBottom = inputShape[1] - info.outHeight + kh - 1 - padTop;
    const padRight = inputShape[2] - info.outWidth + kw - 1 - padLeft;
    if (info.strideHeight !== 1 || info.strideWidth !== 1 || Math.min(padTop, padLeft, padBottom, padRight) < 0) {
      return fallback(args as never) as TensorInfo;
    }
    const reversed = call('Reverse', { x: filter }, { dims: [0, 1] }, backend);
    const swapped = call('Transpose', { x: reversed }, { perm: [0, 1, 3, 2] }, backend);
    backend.disposeData(reversed.dataId);
    const dx = call('Conv2D', { x: dy, filter: swapped }, {
      strides: [1, 1],
      pad: [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]],
      dilations: [1, 1],
      dataFormat: 'NHWC',
    }, backend);
    backend.disposeData(swapped.dataId);
    return dx;
  };
}

/**
 * The stock kernel runs XNNPACK only when neither operand is transposed; the
 * transposed cases (every dense layer's gradient) take a path ~9x slower.
 * Transposing the operand explicitly first is far cheaper than that.
 */
function makeBatchMatMul(original: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo => {
    const { inputs, attrs, backend } = args;
    if (!attrs.transposeA && !attrs.transposeB) return original(args as never) as TensorInfo;
    const swapLast = (t: TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
      return call('Transpose', { x: t }, { perm }, backend);
    };
    const a = attrs.transposeA ? swapLast(inputs.a) : inputs.a;
    const b = attrs.transposeB ? swapLast(inputs.b) : inputs.b;
    const out = original({ inputs: { a, b }, attrs: { ...attrs, transposeA: false, transposeB: false }, backend } as never) as TensorInfo;
    if (a !== inputs.a) backend.disposeData(a.dataId);
    if (b !== inputs.b) backend.disposeData(b.dataId);
    return out;
  };
}

/**
 * Max-pool gradient straight on the wasm heap: each window's first maximum gets
 * the window's incoming gradient, as in TensorFlow. The stock C++ kernel is
 * several times slower than this loop.
 */
function maxPoolGrad({ inputs, attrs, backend }: KernelArgs): TensorInfo {
  const { dy, input } = inputs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as [number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const dxInfo = backend.makeOutput(input.shape, 'float32');
  // Views are taken after makeOutput: growing the heap detaches older views.
  const x = backend.typedArrayFromHeap(input);
  const g = backend.typedArrayFromHeap(dy);
  const dx = backend.typedArrayFromHeap(dxInfo);
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = info;
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  if (fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && H === 2 * OH && W === 2 * OW) {
    maxPoolGrad2x2(x, g, dx, batchSize, OH, OW, C);
    return dxInfo;
  }
  dx.fill(0);
  const bestValue = new Float32Array(C);
  const bestIndex = new Int32Array(C);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        bestValue.fill(-Infinity);
        bestIndex.fill(-1);
        for (let kh = 0; kh < fh; kh++) {
          const ih = oh * sh - top + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < fw; kw++) {
            const iw = ow * sw - left + kw;
            if (iw < 0 || iw >= W) continue;
            const base = ((b * H + ih) * W + iw) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c];
              if (v > bestValue[c] || bestIndex[c] < 0) {
                bestValue[c] = v;
                bestIndex[c] = base + c;
              }
            }
          }
        }
        const gBase = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) if (bestIndex[c] >= 0) dx[bestIndex[c]] += g[gBase + c];
      }
    }
  }
  return dxInfo;
}

/** The common 2x2/2 case, unrolled: every dx element is written once, no zero fill. */
function maxPoolGrad2x2(x: Float32Array, g: Float32Array, dx: Float32Array, batch: number, OH: number, OW: number, C: number) {
  const W = 2 * OW;
  for (let b = 0; b < batch; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const i00 = ((b * 2 * OH + 2 * oh) * W + 2 * ow) * C;
        const i01 = i00 + C;
        const i10 = i00 + W * C;
        const i11 = i10 + C;
        const gi = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          const v00 = x[i00 + c], v01 = x[i01 + c], v10 = x[i10 + c], v11 = x[i11 + c];
          let best = 0;
          let m = v00;
          if (v01 > m) { m = v01; best = 1; }
          if (v10 > m) { m = v10; best = 2; }
          if (v11 > m) best = 3;
          const grad = g[gi + c];
          dx[i00 + c] = best === 0 ? grad : 0;
          dx[i01 + c] = best === 1 ? grad : 0;
          dx[i10 + c] = best === 2 ? grad : 0;
          dx[i11 + c] = best === 3 ? grad : 0;
        }
      }
    }
  }
}

/**
 * Tile by block copies, one axis at a time from the innermost. The stock wasm
 * kernel walks every element with index arithmetic: 200+ ms to broadcast a
 * batch-norm gradient of 32 values over a 128x28x28 batch.
 */
function tile({ inputs, attrs, backend }: KernelArgs): TensorInfo {
  const { x } = inputs;
  const reps = attrs.reps as number[];
  const shape = [...x.shape];
  let data: Float32Array | Int32Array | Uint8Array = backend.typedArrayFromHeap(x).slice();
  for (let d = shape.length - 1; d >= 0; d--) {
    if (reps[d] === 1) continue;
    const inner = shape.slice(d).reduce((a, b) => a * b, 1);
    const outer = shape.slice(0, d).reduce((a, b) => a * b, 1);
    const next: Float32Array | Int32Array | Uint8Array = new (data.constructor as new (n: number) => Float32Array)(data.length * reps[d]);
    for (let o = 0; o < outer; o++) {
      const block = data.subarray(o * inner, (o + 1) * inner);
      const base = o * inner * reps[d];
      next.set(block, base);
      // Doubling copies: log2(reps) calls instead of reps.
      let filled = inner;
      const total = inner * reps[d];
      while (filled < total) {
        const n = Math.min(filled, total - filled);
        next.copyWithin(base + filled, base, base + n);
        filled += n;
      }
    }
    data = next;
    shape[d] *= reps[d];
  }
  const out = backend.makeOutput(shape, x.dtype);
  (backend.typedArrayFromHeap(out) as typeof data).set(data);
  return out;
}

let registered = false;

/** Registers the gradient kernels on the wasm backend; safe to call more than once. */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter as never });
  }
  replaceKernel('BatchMatMul', makeBatchMatMul);
  replaceKernel('MaxPoolGrad', () => maxPoolGrad as never);
  replaceKernel('Tile', (original) => (args) => (args.inputs.x.dtype === 'string' ? (original(args as never) as TensorInfo) : tile(args)));
  const original = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (original) {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel({
      kernelName: 'Conv2DBackpropInput',
      backendName: 'wasm',
      setupFunc: original.setupFunc,
      kernelFunc: makeConv2DBackpropInput(original.kernelFunc) as never,
    });
  }
}

function replaceKernel(name: string, make: (original: tf.KernelFunc) => (args: KernelArgs) => TensorInfo) {
  const original = tf.getKernel(name, 'wasm');
  if (!original) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ kernelName: name, backendName: 'wasm', setupFunc: original.setupFunc, kernelFunc: make(original.kernelFunc) as never });
}
