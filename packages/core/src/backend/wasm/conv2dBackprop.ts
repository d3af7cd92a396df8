import * as tf from '@tensorflow/tfjs';
import { copyMatrix, heapF32, heapIndex, reshaped, zeros, type KernelArgs, type TensorInfo } from './wasmHeap.js';

type MatMulKernel = (args: KernelArgs<{ transposeA: boolean; transposeB: boolean }>) => TensorInfo;

/** Attributes shared by TF.js's two conv2d gradient kernels. */
interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function convInfo(xShape: number[], filterShape: number[], attrs: ConvGradAttrs, kernel: string) {
  if (attrs.dataFormat === 'NCHW') {
    throw new Error(`${kernel} on wasm (FlowSeg kernel): dataFormat NCHW is not supported; use NHWC`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * `Conv2DBackpropFilter` for wasm, which ships none (ENVIRONMENT.md), so any conv2d weight
 * trains on wasm. `dW[kh,kw,ci,co] = Σ_{b,y,x} x[b, y·s+kh−pt, x·s+kw−pl, ci] · dy[b,y,x,co]`:
 * input patches are gathered (im2col, zero padding) into `cols [P, kh·kw·Ci]` with P = B·Ho·Wo,
 * transposed, and `dW = colsᵀ · dy` runs as one product on XNNPACK's fast path.
 */
export function makeConv2DBackpropFilter(matMul: MatMulKernel) {
  return function conv2DBackpropFilter(args: KernelArgs<ConvGradAttrs & { filterShape: number[] }>): TensorInfo {
    const { backend, attrs } = args;
    const x = args.inputs['x']!;
    const dy = args.inputs['dy']!;
    const c = convInfo(x.shape, attrs.filterShape, attrs, 'Conv2DBackpropFilter');
    const [kh, kw, ci, co] = attrs.filterShape as [number, number, number, number];
    const [nb, h, w] = x.shape as [number, number, number, number];
    const oh = c.outHeight;
    const ow = c.outWidth;
    const p = nb * oh * ow;
    const rows = kh * kw * ci;
    const cols = zeros(backend, [1, p, rows]);
    const heap = heapF32(backend);
    const xAt = heapIndex(backend, x);
    const colsAt = heapIndex(backend, cols);
    for (let bi = 0; bi < nb; bi++) {
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++) {
          const col = colsAt + ((bi * oh + y) * ow + xo) * rows;
          for (let ky = 0; ky < kh; ky++) {
            const iy = y * c.strideHeight + ky - c.padInfo.top;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = xo * c.strideWidth + kx - c.padInfo.left;
              if (ix < 0 || ix >= w) continue;
              const src = xAt + ((bi * h + iy) * w + ix) * ci;
              const dst = col + (ky * kw + kx) * ci;
              // A plain loop: per-call overhead makes copyWithin slower for runs this short.
              for (let ch = 0; ch < ci; ch++) heap[dst + ch] = heap[src + ch]!;
            }
          }
        }
      }
    }
    // [rows, P] × [P, Co]: the small `dy` is the packed operand (packing `cols` would cost more).
    const colsT = copyMatrix(backend, cols, 0, p, rows, true);
    backend.disposeData(cols.dataId);
    const dw = matMul({
      inputs: { a: colsT, b: reshaped(dy, [1, p, co]) },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
    backend.disposeData(colsT.dataId);
    return { ...dw, shape: [kh, kw, ci, co] };
  };
}

/**
 * Replacement for wasm's `Conv2DBackpropInput` (a scalar loop there, ~3 GFLOP/s):
 * `dcols = dy · Wᵀ` as one `[P, Co] × [Co, kh·kw·Ci]` fast product, then the patch
 * gradients are scattered back (col2im) into `dx`.
 */
export function makeConv2DBackpropInput(matMul: MatMulKernel) {
  return function conv2DBackpropInput(args: KernelArgs<ConvGradAttrs & { inputShape: number[] }>): TensorInfo {
    const { backend, attrs } = args;
    const dy = args.inputs['dy']!;
    const filter = args.inputs['filter']!;
    const c = convInfo(attrs.inputShape, filter.shape, attrs, 'Conv2DBackpropInput');
    const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
    const [nb, h, w] = attrs.inputShape as [number, number, number, number];
    const oh = c.outHeight;
    const ow = c.outWidth;
    const p = nb * oh * ow;
    const rows = kh * kw * ci;
    const dcols = matMul({
      inputs: { a: reshaped(dy, [1, p, co]), b: reshaped(filter, [1, rows, co]) },
      backend,
      attrs: { transposeA: false, transposeB: true },
    });
    const dx = zeros(backend, [nb, h, w, ci]);
    const heap = heapF32(backend);
    const dxAt = heapIndex(backend, dx);
    const colsAt = heapIndex(backend, dcols);
    for (let bi = 0; bi < nb; bi++) {
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++) {
          const col = colsAt + ((bi * oh + y) * ow + xo) * rows;
          for (let ky = 0; ky < kh; ky++) {
            const iy = y * c.strideHeight + ky - c.padInfo.top;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = xo * c.strideWidth + kx - c.padInfo.left;
              if (ix < 0 || ix >= w) continue;
              const dst = dxAt + ((bi * h + iy) * w + ix) * ci;
              const src = col + (ky * kw + kx) * ci;
              for (let ch = 0; ch < ci; ch++) heap[dst + ch] += heap[src + ch]!;
            }
          }
        }
      }
    }
    backend.disposeData(dcols.dataId);
    return dx;
  };
}
