import * as tf from '@tensorflow/tfjs';

/** The part of tfjs-backend-cpu's backend this kernel uses. */
interface CpuBackend {
  data: { get(dataId: object): { values?: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** Attributes of `ResizeNearestNeighborGrad` (those of the forward op). */
interface ResizeAttrs {
  alignCorners: boolean;
  halfPixelCenters?: boolean;
}

/**
 * The source index the forward `ResizeNearestNeighbor` reads for output position `i`, with
 * tfjs's conventions (the cpu forward kernel's arithmetic, so both passes pick the same pixel).
 */
function nearestSource(i: number, ratio: number, inSize: number, alignCorners: boolean, halfPixelCenters: boolean): number {
  const frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
  const nearest = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  return halfPixelCenters ? Math.max(0, nearest) : nearest;
}

/**
 * `ResizeNearestNeighborGrad` for the cpu backend: `dx[b, src(r), src(c), :] += dy[b, r, c, :]`.
 * Replaces tfjs-backend-cpu 4.22's kernel, which offsets `dy` by the *images'* batch stride
 * (wrong gradient for every batch item after the first) and ignores `halfPixelCenters`.
 */
export function resizeNearestNeighborGrad(args: {
  inputs: { images?: tf.TensorInfo; dy?: tf.TensorInfo };
  backend: unknown;
  attrs: ResizeAttrs;
}): tf.TensorInfo {
  const { images, dy } = args.inputs;
  if (!images || !dy) throw new Error('ResizeNearestNeighborGrad (FlowSeg cpu kernel): expected inputs images and dy');
  const backend = args.backend as CpuBackend;
  const { alignCorners } = args.attrs;
  const halfPixelCenters = args.attrs.halfPixelCenters === true;
  const [batch, inH, inW, depth] = images.shape as [number, number, number, number];
  const [, outH, outW] = dy.shape as [number, number, number, number];
  const dyValues = backend.data.get(dy.dataId).values;
  if (!dyValues) throw new Error('ResizeNearestNeighborGrad (FlowSeg cpu kernel): dy has no values on the cpu backend');
  const ratio = (inSize: number, outSize: number) =>
    alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const rowRatio = ratio(inH, outH);
  const colRatio = ratio(inW, outW);
  const srcCol = Int32Array.from({ length: outW }, (_, c) => nearestSource(c, colRatio, inW, alignCorners, halfPixelCenters));
  const dx = new Float32Array(batch * inH * inW * depth);
  let at = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      const rowBase = (b * inH + nearestSource(r, rowRatio, inH, alignCorners, halfPixelCenters)) * inW;
      for (let c = 0; c < outW; c++) {
        const dst = (rowBase + srcCol[c]!) * depth;
        for (let d = 0; d < depth; d++) dx[dst + d]! += dyValues[at++]!;
      }
    }
  }
  return backend.makeTensorInfo(images.shape, 'float32', dx);
}
