/**
 * Kernels inkflow adds to or replaces in tfjs-backend-wasm so it trains, and
 * trains fast: stock wasm has no Conv2DBackpropFilter (a conv net cannot train)
 * and slow paths for the input gradient, transposed matrix products, 2-D
 * transposes, max-pool/ReLU gradients, bias sums and copies. The convolution
 * gradients run as XNNPACK convolutions or products; loops XNNPACK has no
 * operator for run in WebAssembly SIMD (simd-kernels.wat). Every kernel is
 * verified against the cpu backend in test/wasm-kernels.test.ts.
 */
import type * as tfCore from '@tensorflow/tfjs-core';
import { simdKernelsFor, type EmscriptenModule } from './simd-kernels.js';
import { tfjsCore } from './tfjs-packages.js';

const tf = tfjsCore();

const { sizeFromShape } = tf.util;

type TensorInfo = tfCore.TensorInfo;
type Backend = {
  disposeData(dataId: object): void;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tfCore.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
  wasm: EmscriptenModule;
};
/** What a kernel here is called with: the named inputs it is registered for, its attributes, the wasm backend. */
type KernelArgs<I extends string> = { inputs: Record<I, TensorInfo>; attrs: tfCore.NamedAttrMap; backend: Backend };
type Kernel<I extends string> = (args: KernelArgs<I>) => TensorInfo;

/**
 * tfjs types every kernel as `(params: { inputs: NamedTensorInfoMap; backend: {}; attrs? }) => ...`:
 * it cannot say which inputs a kernel gets, and the wasm backend's class is not exported. The kernels
 * here are typed by the inputs they are registered for and the backend methods they use, and tfjs calls
 * them exactly so (the registered inputs, the active backend); this is the one place that says so.
 */
function asTfjsKernel<I extends string>(kernel: Kernel<I>): tfCore.KernelFunc {
  return kernel as tfCore.KernelFunc;
}

/** A stock kernel called from a replacement; every kernel here produces one tensor. */
function runStock(kernel: tfCore.KernelFunc, args: KernelArgs<string>): TensorInfo {
  return kernel(args) as TensorInfo;
}

function call(name: string, inputs: Record<string, TensorInfo>, attrs: tfCore.NamedAttrMap, backend: Backend): TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
  return runStock(kernel.kernelFunc, { inputs, attrs, backend });
}

type ConvPad = 'valid' | 'same' | number | tfCore.backend_util.ExplicitPadding;
type Shape4 = [number, number, number, number];

/** A rank-4 shape: [kh, kw, ci, co] filters, [batch, h, w, c] images. */
function rank4(shape: readonly number[], what: string): Shape4 {
  if (shape.length !== 4) throw new Error(`${what} must have rank 4, got shape [${shape.join(', ')}]`);
  return shape as Shape4;
}

function convInfo(xShape: Shape4, filterShape: Shape4, attrs: tfCore.NamedAttrMap) {
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides as [number, number],
    1,
    attrs.pad as ConvPad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

function requireChannelsLast(kernel: string, attrs: tfCore.NamedAttrMap) {
  if (attrs.dataFormat && attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports only channels-last (NHWC) data, got ${String(attrs.dataFormat)}`);
  }
}

/**
 * dW[kh,kw,ci,co] = Σ_{b,oh,ow} xp[b, oh·s+kh, ow·s+kw, ci] · dy[b,oh,ow,co], xp being x
 * zero-padded as the forward pass padded it. XNNPACK runs the arithmetic fast
 * but packs its weight operand afresh on every call, and with both operands
 * this large the packing costs as much as the product; so the smaller of the
 * two candidate weights is packed: the patch matrix of x when kh·kw·ci ≤ co
 * (a first layer), dy otherwise.
 */
function conv2DBackpropFilter({ inputs, attrs, backend }: KernelArgs<'x' | 'dy'>): TensorInfo {
  const { x, dy } = inputs;
  requireChannelsLast('Conv2DBackpropFilter', attrs);
  const filterShape = rank4(attrs.filterShape as number[], 'Conv2DBackpropFilter filterShape');
  const info = convInfo(rank4(x.shape, 'Conv2DBackpropFilter x'), filterShape, attrs);
  const [kh, kw, ci, co] = filterShape;
  return kh * kw * ci <= co
    ? filterGradFromPatches(x, dy, filterShape, info, backend)
    : filterGradDyAsFilter(x, dy, filterShape, info, backend);
}

/** dWᵀ [co, kh·kw·ci] = dyᵀ [co, P] · patches [P, kh·kw·ci] over all P = b·oh·ow output positions. */
function filterGradFromPatches(x: TensorInfo, dy: TensorInfo, filterShape: Shape4, info: tfCore.backend_util.Conv2DInfo, backend: Backend): TensorInfo {
  const [kh, kw, ci, co] = filterShape;
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const columns = kh * kw * ci;
  const patches = imageToColumns(x, info, backend);
  const dyT = call('Transpose', { x: { ...dy, shape: [positions, co] } }, { perm: [1, 0] }, backend);
  const product = call('BatchMatMul', {
    a: { ...dyT, shape: [1, co, positions] },
    b: { ...patches, shape: [1, positions, columns] },
  }, { transposeA: false, transposeB: false }, backend);
  dispose(backend, patches, dyT);
  const grad = call('Transpose', { x: product }, { perm: [0, 2, 1] }, backend);
  dispose(backend, product);
  return { ...grad, shape: filterShape };
}

/**
 * dy plays the filter, dilated by the stride. XNNPACK packs that filter afresh
 * on every call at a cost that grows faster than its size (a [14,14,128,64]
 * filter: 17 ms over the arithmetic; four [14,14,32,64] ones: 10 ms), so the
 * batch is cut into chunks whose filters stay under ~0.5 M floats and the
 * partial gradients are summed.
 */
function filterGradDyAsFilter(x: TensorInfo, dy: TensorInfo, filterShape: Shape4, info: tfCore.backend_util.Conv2DInfo, backend: Backend): TensorInfo {
  const [kh, kw, ci, co] = filterShape;
  const { top, bottom, left, right } = info.padInfo;
  const batch = info.batchSize;
  const perImage = info.outHeight * info.outWidth * co;
  const chunks = Math.ceil(batch / Math.max(1, Math.floor(FILTER_FLOATS_PER_CALL / perImage)));
  const chunk = Math.ceil(batch / chunks);
  let sum: TensorInfo | undefined;
  for (let start = 0; start < batch; start += chunk) {
    const size = Math.min(chunk, batch - start);
    const xPart = batchRange(x, start, size, backend);
    const dyPart = batchRange(dy, start, size, backend);
    const xT = call('Transpose', { x: xPart }, { perm: [3, 1, 2, 0] }, backend);
    const dyT = call('Transpose', { x: dyPart }, { perm: [1, 2, 0, 3] }, backend);
    if (xPart !== x) dispose(backend, xPart, dyPart);
    const partial = call('Conv2D', { x: xT, filter: dyT }, {
      strides: [1, 1],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dilations: [info.strideHeight, info.strideWidth],
      dataFormat: 'NHWC',
    }, backend);
    dispose(backend, xT, dyT);
    if (sum) {
      const next = call('Add', { a: sum, b: partial }, {}, backend);
      dispose(backend, sum, partial);
      sum = next;
    } else {
      sum = partial;
    }
  }
  let grad = sum!;
  if (grad.shape[1] !== kh || grad.shape[2] !== kw) {
    const sliced = call('Slice', { x: grad }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] }, backend);
    dispose(backend, grad);
    grad = sliced;
  }
  const out = call('Transpose', { x: grad }, { perm: [1, 2, 0, 3] }, backend);
  dispose(backend, grad);
  return out;
}

const FILTER_FLOATS_PER_CALL = 1 << 19;

/** Images [start, start+size) of a batch-major tensor, as a copy (the whole tensor when that is all of it). */
function batchRange(t: TensorInfo, start: number, size: number, backend: Backend): TensorInfo {
  if (start === 0 && size === t.shape[0]) return t;
  const perImage = sizeFromShape(t.shape.slice(1));
  const out = backend.makeOutput([size, ...t.shape.slice(1)], t.dtype);
  backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(t).subarray(start * perImage, (start + size) * perImage));
  return out;
}

/**
 * Patch matrix [b·oh·ow, kh·kw·ci]: row p holds the receptive field of output
 * position p (zeros where it overhangs the padding). Computed as a convolution
 * with a one-hot filter, exact since every output is one input times 1 plus
 * zeros, so XNNPACK does the gathering on all threads; the filter is made once
 * per shape and kept, so XNNPACK packs it once.
 */
function imageToColumns(x: TensorInfo, info: tfCore.backend_util.Conv2DInfo, backend: Backend): TensorInfo {
  const { top, bottom, left, right } = info.padInfo;
  const patches = call('Conv2D', { x, filter: oneHotFilter(info.filterHeight, info.filterWidth, info.inChannels, backend) }, {
    strides: [info.strideHeight, info.strideWidth],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dilations: [1, 1],
    dataFormat: 'NHWC',
  }, backend);
  return { ...patches, shape: [info.batchSize * info.outHeight * info.outWidth, info.filterHeight * info.filterWidth * info.inChannels] };
}

const oneHotFilters = new WeakMap<Backend, Map<string, TensorInfo>>();

function oneHotFilter(kh: number, kw: number, ci: number, backend: Backend): TensorInfo {
  const key = `${kh}x${kw}x${ci}`;
  if (!oneHotFilters.has(backend)) oneHotFilters.set(backend, new Map());
  const filters = oneHotFilters.get(backend)!;
  let filter = filters.get(key);
  if (!filter) {
    const columns = kh * kw * ci;
    filter = backend.makeOutput([kh, kw, ci, columns], 'float32');
    const values = backend.typedArrayFromHeap(filter);
    values.fill(0);
    // Filter layout [kh, kw, ci, columns]: input tap t = (i·kw + j)·ci + c feeds column t.
    for (let t = 0; t < columns; t++) values[t * columns + t] = 1;
    filters.set(key, filter);
  }
  return filter;
}

function dispose(backend: Backend, ...tensors: TensorInfo[]) {
  for (const t of tensors) backend.disposeData(t.dataId);
}

/**
 * For stride 1, dx is dy convolved with the filter rotated 180° and its channel
 * axes swapped, padded so the output has the input's size.
 */
function makeConv2DBackpropInput(fallback: tfCore.KernelFunc): Kernel<'dy' | 'filter'> {
  return (args) => {
    const { inputs, attrs, backend } = args;
    const { dy, filter } = inputs;
    requireChannelsLast('Conv2DBackpropInput', attrs);
    const inputShape = rank4(attrs.inputShape as number[], 'Conv2DBackpropInput inputShape');
    const filterShape = rank4(filter.shape, 'Conv2DBackpropInput filter');
    const info = convInfo(inputShape, filterShape, attrs);
    const [kh, kw] = filterShape;
    const padTop = kh - 1 - info.padInfo.top;
    const padLeft = kw - 1 - info.padInfo.left;
    const padBottom = inputShape[1] - info.outHeight + kh - 1 - padTop;
    const padRight = inputShape[2] - info.outWidth + kw - 1 - padLeft;
    if (info.strideHeight !== 1 || info.strideWidth !== 1 || Math.min(padTop, padLeft, padBottom, padRight) < 0) {
      return runStock(fallback, args);
    }
    if (foldsHeight(info, dy)) return foldGradient(dy, filter, inputShape, backend);
    const swapped = rotatedFilter(filter, backend);
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
 * A [kh, 1] filter that spans the whole input height unpadded (a line model's
 * height fold) has one output row, so the rotated-filter convolution above
 * would pad dy to 2·kh − 1 rows and spend kh − 1 of every kh products on
 * zeros. Each input row meets exactly one filter row instead.
 */
function foldsHeight(info: tfCore.backend_util.Conv2DInfo, dy: TensorInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  const [batch, rows, columns] = dy.shape;
  // tfjs checks only dy's rank and channels; the product reads dy as [batch·width, co], so its size must match.
  const dyMatches = batch === info.batchSize && rows === 1 && columns === info.inWidth;
  return dyMatches && info.outHeight === 1 && info.filterWidth === 1 && info.filterHeight === info.inHeight && top + bottom + left + right === 0;
}

/** dx[b, i, w, c] = Σ_o dy[b, 0, w, o] · W[i, 0, c, o]: one product [b·w, co] · [kh·ci, co]ᵀ, then rows and columns swapped. */
function foldGradient(dy: TensorInfo, filter: TensorInfo, inputShape: Shape4, backend: Backend): TensorInfo {
  const [batch, height, width, channels] = inputShape;
  const co = filter.shape[3]!;
  const product = call('BatchMatMul', {
    a: { ...dy, shape: [1, batch * width, co] },
    b: { ...filter, shape: [1, height * channels, co] },
  }, { transposeA: false, transposeB: true }, backend);
  const dx = call('Transpose', { x: { ...product, shape: [batch, width, height, channels] } }, { perm: [0, 2, 1, 3] }, backend);
  dispose(backend, product);
  return dx;
}

/** w'[kh-1-i, kw-1-j, o, c] = w[i, j, c, o] in one pass (tfjs' Reverse and Transpose took ~2 ms for a 3x3x64x64 filter). */
function rotatedFilter(filter: TensorInfo, backend: Backend): TensorInfo {
  const [kh, kw, ci, co] = rank4(filter.shape, 'Conv2DBackpropInput filter');
  const out = backend.makeOutput([kh, kw, co, ci], 'float32');
  const src = backend.typedArrayFromHeap(filter);
  const dst = backend.typedArrayFromHeap(out);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const from = (i * kw + j) * ci * co;
      const to = ((kh - 1 - i) * kw + (kw - 1 - j)) * co * ci;
      // from + c·co + o < kh·kw·ci·co, the filter's size.
      for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) dst[to + o * ci + c] = src[from + c * co + o]!;
    }
  }
  return out;
}

/**
 * The stock kernel runs XNNPACK only when neither operand is transposed; the
 * transposed cases (every dense layer's gradient) take a path ~9x slower, so
 * operands are transposed explicitly first. XNNPACK also re-packs the right
 * operand on every call: when the left one is much smaller (dx = dy·Wᵀ), Cᵀ =
 * op(B)ᵀ·op(A)ᵀ packs the small one and costs one transpose of C.
 */
function makeBatchMatMul(original: tfCore.KernelFunc): Kernel<'a' | 'b'> {
  return (args) => {
    const { inputs, attrs, backend } = args;
    const transposeA = Boolean(attrs.transposeA);
    const transposeB = Boolean(attrs.transposeB);
    const product = (a: TensorInfo, b: TensorInfo) =>
      runStock(original, { inputs: { a, b }, attrs: { ...attrs, transposeA: false, transposeB: false }, backend });
    const temporaries: TensorInfo[] = [];
    const swapped = (t: TensorInfo) => {
      const out = swapLastTwo(t, backend);
      temporaries.push(out);
      return out;
    };
    const { a, b } = inputs;
    let out: TensorInfo;
    if (batchOf(a) === 1 && batchOf(b) === 1 && 4 * sizeFromShape(a.shape) < sizeFromShape(b.shape)) {
      const transposedOut = product(transposeB ? b : swapped(b), transposeA ? a : swapped(a));
      temporaries.push(transposedOut);
      out = swapLastTwo(transposedOut, backend);
    } else if (!transposeA && !transposeB) {
      return product(a, b);
    } else {
      out = product(transposeA ? swapped(a) : a, transposeB ? swapped(b) : b);
    }
    dispose(backend, ...temporaries);
    return out;
  };
}

function swapLastTwo(t: TensorInfo, backend: Backend): TensorInfo {
  const rank = t.shape.length;
  const perm = t.shape.map((_, i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
  return call('Transpose', { x: t }, { perm }, backend);
}

const batchOf = (t: TensorInfo) => sizeFromShape(t.shape.slice(0, -2));

/**
 * Max-pool gradient straight on the wasm heap: each window's first maximum gets
 * the window's incoming gradient, as in TensorFlow. The stock C++ kernel is
 * several times slower than this loop.
 */
function maxPoolGrad({ inputs, attrs, backend }: KernelArgs<'dy' | 'input'>): TensorInfo {
  const { dy, input } = inputs;
  const info = tf.backend_util.computePool2DInfo(
    rank4(input.shape, 'MaxPoolGrad input'),
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
  if (fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0) {
    const simd = C % 4 === 0 ? simdKernelsFor(backend.wasm) : undefined;
    if (simd) {
      // An odd last row or column (floor rounding) belongs to no window: its gradient is 0.
      if (H !== 2 * OH || W !== 2 * OW) dx.fill(0);
      for (let b = 0; b < batchSize; b++) {
        simd.maxPoolGrad2x2(x.byteOffset + 4 * b * H * W * C, g.byteOffset + 4 * b * OH * OW * C, dx.byteOffset + 4 * b * H * W * C, OH, OW, W, C);
      }
      return dxInfo;
    }
    if (H === 2 * OH && W === 2 * OW) {
      maxPoolGrad2x2(x, g, dx, batchSize, OH, OW, C);
      return dxInfo;
    }
  }
  dx.fill(0);
  // Indices below stay inside the [batch, H, W, C] input, the [batch, OH, OW, C] gradient and the C-long scratch rows.
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
              const v = x[base + c]!;
              if (v > bestValue[c]! || bestIndex[c]! < 0) {
                bestValue[c] = v;
                bestIndex[c] = base + c;
              }
            }
          }
        }
        const gBase = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          const best = bestIndex[c]!;
          if (best >= 0) dx[best]! += g[gBase + c]!;
        }
      }
    }
  }
  return dxInfo;
}

/** The common 2x2/2 case, unrolled: every dx element is written once, no zero fill. */
function maxPoolGrad2x2(x: Float32Array, g: Float32Array, dx: Float32Array, batch: number, OH: number, OW: number, C: number) {
  const W = 2 * OW;
  // x and dx are [batch, 2·OH, 2·OW, C], g is [batch, OH, OW, C]: every index below is inside them.
  for (let b = 0; b < batch; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const i00 = ((b * 2 * OH + 2 * oh) * W + 2 * ow) * C;
        const i01 = i00 + C;
        const i10 = i00 + W * C;
        const i11 = i10 + C;
        const gi = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          const v00 = x[i00 + c]!, v01 = x[i01 + c]!, v10 = x[i10 + c]!, v11 = x[i11 + c]!;
          let best = 0;
          let m = v00;
          if (v01 > m) { m = v01; best = 1; }
          if (v10 > m) { m = v10; best = 2; }
          if (v11 > m) best = 3;
          const grad = g[gi + c]!;
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
 * Sums over leading axes (every bias gradient: [batch, h, w, c] -> [c]) in one
 * SIMD pass; the stock kernel first transposes the reduced axes to the end.
 */
function makeSum(original: tfCore.KernelFunc): Kernel<'x'> {
  return (args) => {
    const { inputs: { x }, attrs, backend } = args;
    const rank = x.shape.length;
    const axes = [...new Set(([] as number[]).concat(attrs.axis as number | number[]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    const kept = x.shape.slice(axes.length);
    const channels = sizeFromShape(kept);
    const simd = leading && x.dtype === 'float32' && channels % 4 === 0 ? simdKernelsFor(backend.wasm) : undefined;
    if (!simd) return runStock(original, args);
    const outShape = attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept;
    const out = backend.makeOutput(outShape, 'float32');
    const rows = sizeFromShape(x.shape.slice(0, axes.length));
    simd.sumRows(backend.typedArrayFromHeap(x).byteOffset, backend.typedArrayFromHeap(out).byteOffset, rows, channels);
    return out;
  };
}

/**
 * tfjs-wasm's 2-D transpose walks the output with a stride of the row count;
 * when that is a multiple of 4 KiB every write lands in one cache set (a
 * [100352, 32] transpose took 19 ms, 2.6 ms as the equivalent 3-D one). Any
 * transpose that reduces to swapping two axes is handed over as 3-D.
 */
function makeTranspose(original: tfCore.KernelFunc): Kernel<'x'> {
  return (args) => {
    const { inputs: { x }, attrs, backend } = args;
    const perm = attrs.perm as number[];
    const swap = twoAxisSwap(x.shape, perm);
    if (!swap) return runStock(original, args);
    const [outer, rows, cols] = swap;
    const split = smallestFactor(rows);
    if (outer !== 1 || split === rows) return runStock(original, args);
    const out = runStock(original, { inputs: { x: { ...x, shape: [split, rows / split, cols] } }, attrs: { perm: [2, 0, 1] }, backend });
    return { ...out, shape: perm.map((p) => x.shape[p]!) }; // perm is a permutation of x's axes
  };
}

/** [outer, rows, cols] when perm only moves a contiguous block of trailing axes in front of the block before it. */
function twoAxisSwap(shape: number[], perm: number[]): [number, number, number] | undefined {
  const rank = shape.length;
  let lead = 0;
  while (lead < rank && perm[lead] === lead) lead++;
  const first = perm[lead];
  if (first === undefined) return undefined;
  for (let i = lead; i < rank; i++) {
    const expected = i - lead < rank - first ? first + (i - lead) : lead + (i - lead - (rank - first));
    if (perm[i] !== expected) return undefined;
  }
  const size = (from: number, to: number) => sizeFromShape(shape.slice(from, to));
  return [size(0, lead), size(lead, first), size(first, rank)];
}

function smallestFactor(n: number): number {
  for (let f = 2; f * f <= n; f++) if (n % f === 0) return f;
  return n;
}

/**
 * Tile by block copies, one axis at a time from the innermost. The stock wasm
 * kernel walks every element with index arithmetic: 200+ ms to broadcast a
 * batch-norm gradient of 32 values over a 128x28x28 batch.
 */
function tile({ inputs, attrs, backend }: KernelArgs<'x'>): TensorInfo {
  const { x } = inputs;
  const reps = attrs.reps as number[];
  const shape = [...x.shape];
  let data: Float32Array | Int32Array | Uint8Array = backend.typedArrayFromHeap(x).slice();
  for (let d = shape.length - 1; d >= 0; d--) {
    const rep = reps[d] ?? 1;
    if (rep === 1) continue;
    const inner = sizeFromShape(shape.slice(d));
    const outer = sizeFromShape(shape.slice(0, d));
    const next: Float32Array | Int32Array | Uint8Array = new (data.constructor as new (n: number) => Float32Array)(data.length * rep);
    for (let o = 0; o < outer; o++) {
      const block = data.subarray(o * inner, (o + 1) * inner);
      const base = o * inner * rep;
      next.set(block, base);
      // Doubling copies: log2(reps) calls instead of reps.
      let filled = inner;
      const total = inner * rep;
      while (filled < total) {
        const n = Math.min(filled, total - filled);
        next.copyWithin(base + filled, base, base + n);
        filled += n;
      }
    }
    data = next;
    shape[d] = shape[d]! * rep; // d < shape.length
  }
  const out = backend.makeOutput(shape, x.dtype);
  (backend.typedArrayFromHeap(out) as typeof data).set(data);
  return out;
}

/**
 * Identity (and a Cast to the same dtype) share the input's data, as the cpu
 * backend does, instead of copying it: tfjs clones every tensor it keeps for
 * the backward pass, and no wasm kernel writes into its inputs.
 */
function shareData(args: KernelArgs<'x'>): TensorInfo {
  const { inputs: { x }, backend } = args;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const RELU_GRAD = 'InkflowReluGrad';

/** dx = x > 0 ? dy : 0 in one pass; tfjs' gradient is Step, Cast and Multiply. */
function reluGrad({ inputs: { dy, x }, backend }: KernelArgs<'dy' | 'x'>): TensorInfo {
  const dx = backend.makeOutput(x.shape, 'float32');
  const xs = backend.typedArrayFromHeap(x);
  const dys = backend.typedArrayFromHeap(dy);
  const dxs = backend.typedArrayFromHeap(dx);
  const simd = xs.length % 4 === 0 ? simdKernelsFor(backend.wasm) : undefined;
  if (simd) simd.reluGrad(dys.byteOffset, xs.byteOffset, dxs.byteOffset, xs.length);
  else for (let i = 0; i < xs.length; i++) dxs[i] = xs[i]! > 0 ? dys[i]! : 0; // dy and dx have x's shape
  return dx;
}

function registerReluGradient() {
  tf.registerKernel({ kernelName: RELU_GRAD, backendName: 'wasm', kernelFunc: asTfjsKernel(reluGrad) });
  // Gradients are registered for every backend: others keep tfjs' own formula.
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      if (!x) throw new Error('the Relu gradient needs the saved input x');
      const d = dy as tfCore.Tensor;
      return {
        x: () => (tf.getBackend() === 'wasm' && x.dtype === 'float32' && d.dtype === 'float32'
          ? tf.engine().runKernel(RELU_GRAD, { dy: d, x }) as tfCore.Tensor
          : tf.mul(d, tf.cast(tf.step(x), 'float32'))),
      };
    },
  });
}

let registered = false;

/** Registers the gradient kernels on the wasm backend; safe to call more than once. */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: asTfjsKernel(conv2DBackpropFilter) });
  }
  replaceKernel('BatchMatMul', makeBatchMatMul);
  replaceKernel('MaxPoolGrad', () => maxPoolGrad);
  replaceKernel('Sum', makeSum);
  replaceKernel('Identity', (original): Kernel<'x'> => (args) => (args.inputs.x.dtype === 'string' ? runStock(original, args) : shareData(args)));
  replaceKernel('Cast', (original): Kernel<'x'> => (args) => (args.inputs.x.dtype === args.attrs.dtype && args.inputs.x.dtype !== 'string' ? shareData(args) : runStock(original, args)));
  registerReluGradient();
  replaceKernel('Transpose', makeTranspose);
  replaceKernel('Tile', (original): Kernel<'x'> => (args) => (args.inputs.x.dtype === 'string' ? runStock(original, args) : tile(args)));
  const original = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (original) {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel({
      kernelName: 'Conv2DBackpropInput',
      backendName: 'wasm',
      setupFunc: original.setupFunc,
      kernelFunc: asTfjsKernel(makeConv2DBackpropInput(original.kernelFunc)),
    });
  }
}

function replaceKernel<I extends string>(name: string, make: (original: tfCore.KernelFunc) => Kernel<I>) {
  const original = tf.getKernel(name, 'wasm');
  if (!original) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ kernelName: name, backendName: 'wasm', setupFunc: original.setupFunc, kernelFunc: asTfjsKernel(make(original.kernelFunc)) });
}
