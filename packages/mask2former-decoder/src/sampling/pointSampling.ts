import * as tf from '@tensorflow/tfjs';
import { checkShapes } from '@flowseg/core';

/** Bilinear taps of points on an `height × width` grid: 4 per point. */
interface Taps {
  /** Flat pixel index `row·H·W + y·width + x` of each tap (0 where the tap falls outside), int32 `[..., points, 4]`. */
  index: tf.Tensor;
  /** Interpolation weight of each tap (0 outside the grid: zero padding), `[..., points, 4]`. */
  weight: tf.Tensor;
}

/**
 * Taps of `grid_sample(mode='bilinear', padding_mode='zeros', align_corners=False)` for
 * normalized coordinates in `[0, 1]²` (x = column, y = row): pixel coordinate `x·W − 0.5`.
 * The coordinates are constants, so the taps are computed in plain JS (a handful of tensor
 * ops per point set would cost far more than the arithmetic on wasm). With `rowStride`, the
 * coordinates are `[rows, points, 2]` and row `r`'s indices are offset by `r·rowStride`.
 */
function bilinearTaps(coords: tf.Tensor, height: number, width: number, rowStride = 0): Taps {
  const c = coords.dataSync();
  const points = c.length / 2;
  const perRow = coords.rank === 3 ? coords.shape[1]! : points;
  const index = new Int32Array(points * 4);
  const weight = new Float32Array(points * 4);
  for (let p = 0; p < points; p++) {
    const x = c[2 * p]! * width - 0.5;
    const y = c[2 * p + 1]! * height - 0.5;
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    const offset = Math.floor(p / perRow) * rowStride;
    const taps: Array<[number, number, number]> = [
      [y0, x0, (1 - fy) * (1 - fx)],
      [y0, x0 + 1, (1 - fy) * fx],
      [y0 + 1, x0, fy * (1 - fx)],
      [y0 + 1, x0 + 1, fy * fx],
    ];
    taps.forEach(([ty, tx, w], k) => {
      const inside = tx >= 0 && tx < width && ty >= 0 && ty < height;
      index[4 * p + k] = inside ? offset + ty * width + tx : 0;
      weight[4 * p + k] = inside ? w : 0;
    });
  }
  const shape = [...coords.shape.slice(0, -1), 4];
  return { index: tf.tensor(index, shape, 'int32'), weight: tf.tensor(weight, shape, 'float32') };
}

/**
 * Sample constant maps at constant points in plain JS (e.g. ground-truth masks): the same
 * bilinear taps as {@link samplePoints}, without building tensors per tap.
 *
 * @param maps - `rows` maps of `height·width` values each.
 * @param coords - `[rows, points, 2]` normalized `(x, y)`, row-major.
 * @returns `[rows, points]`, row-major.
 */
export function samplePointsCpu(
  maps: ArrayLike<number>,
  rows: number,
  height: number,
  width: number,
  coords: ArrayLike<number>,
  points: number,
): Float32Array {
  const out = new Float32Array(rows * points);
  for (let r = 0; r < rows; r++) {
    const base = r * height * width;
    for (let p = 0; p < points; p++) {
      const at = 2 * (r * points + p);
      const x = coords[at]! * width - 0.5;
      const y = coords[at + 1]! * height - 0.5;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      let v = 0;
      const tap = (ty: number, tx: number, w: number) => {
        if (tx >= 0 && tx < width && ty >= 0 && ty < height) v += w * maps[base + ty * width + tx]!;
      };
      tap(y0, x0, (1 - fy) * (1 - fx));
      tap(y0, x0 + 1, (1 - fy) * fx);
      tap(y0 + 1, x0, fy * (1 - fx));
      tap(y0 + 1, x0 + 1, fy * fx);
      out[r * points + p] = v;
    }
  }
  return out;
}

/**
 * Bilinear point sampling with one coordinate set per map (PointRend's `point_sample`,
 * `align_corners=False`, zero padding), written as a gather so it trains on wasm.
 * Differentiable in `maps`; `coords` is treated as a constant.
 *
 * @param maps - `[rows, height, width]`.
 * @param coords - `[rows, points, 2]`, normalized `(x, y)` in `[0, 1]`.
 * @returns `[rows, points]`.
 */
export function samplePoints(maps: tf.Tensor3D, coords: tf.Tensor3D): tf.Tensor2D {
  const b = checkShapes({
    maps: { tensor: maps, axes: ['rows', 'height', 'width'], dtypes: ['float32'] },
    coords: { tensor: coords, axes: ['rows', 'points', 2], dtypes: ['float32'] },
  });
  const [rows, height, width, points] = [b['rows']!, b['height']!, b['width']!, b['points']!];
  return tf.tidy(() => {
    const { index, weight } = bilinearTaps(coords, height, width, height * width); // [R, P, 4]
    const flatIndex = tf.reshape(index, [rows * points * 4]);
    const values = tf.reshape(tf.gather(tf.reshape(maps, [rows * height * width]), flatIndex), [rows, points, 4]);
    return tf.sum(tf.mul(values, weight), -1) as tf.Tensor2D;
  });
}

/**
 * Bilinear point sampling with one coordinate set shared by all maps (the matcher's case).
 *
 * @param maps - `[rows, height, width]`.
 * @param coords - `[points, 2]`, normalized `(x, y)` in `[0, 1]`.
 * @returns `[rows, points]`.
 */
export function sampleSharedPoints(maps: tf.Tensor3D, coords: tf.Tensor2D): tf.Tensor2D {
  const b = checkShapes({
    maps: { tensor: maps, axes: ['rows', 'height', 'width'], dtypes: ['float32'] },
    coords: { tensor: coords, axes: ['points', 2], dtypes: ['float32'] },
  });
  const [rows, height, width, points] = [b['rows']!, b['height']!, b['width']!, b['points']!];
  return tf.tidy(() => {
    const { index, weight } = bilinearTaps(coords, height, width); // [P, 4]
    const values = tf.gather(tf.reshape(maps, [rows, height * width]), tf.reshape(index, [points * 4]), 1);
    return tf.sum(tf.mul(tf.reshape(values, [rows, points, 4]), weight), -1) as tf.Tensor2D;
  });
}
