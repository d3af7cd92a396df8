import * as tf from '@tensorflow/tfjs';
import { checkShapes } from '@flowseg/core';

/** Bilinear taps of points on an `height × width` grid: 4 per point. */
interface Taps {
  /** Flat pixel index `y·width + x` of each tap (0 where the tap falls outside), int32 `[..., points, 4]`. */
  index: tf.Tensor;
  /** Interpolation weight of each tap (0 outside the grid: zero padding), `[..., points, 4]`. */
  weight: tf.Tensor;
}

/**
 * Taps of `grid_sample(mode='bilinear', padding_mode='zeros', align_corners=False)` for
 * normalized coordinates in `[0, 1]²` (x = column, y = row): pixel coordinate `x·W − 0.5`.
 * Computed from constant coordinates; nothing here needs a gradient.
 */
function bilinearTaps(coords: tf.Tensor, height: number, width: number): Taps {
  return tf.tidy(() => {
    const [cx, cy] = tf.split(coords, 2, -1);
    const x = tf.sub(tf.mul(cx!, width), 0.5);
    const y = tf.sub(tf.mul(cy!, height), 0.5);
    const x0 = tf.floor(x);
    const y0 = tf.floor(y);
    const fx = tf.sub(x, x0);
    const fy = tf.sub(y, y0);
    const gx = tf.sub(1, fx);
    const gy = tf.sub(1, fy);
    const x1 = tf.add(x0, 1);
    const y1 = tf.add(y0, 1);
    const taps: Array<[tf.Tensor, tf.Tensor, tf.Tensor]> = [
      [y0, x0, tf.mul(gy, gx)],
      [y0, x1, tf.mul(gy, fx)],
      [y1, x0, tf.mul(fy, gx)],
      [y1, x1, tf.mul(fy, fx)],
    ];
    const indices: tf.Tensor[] = [];
    const weights: tf.Tensor[] = [];
    for (const [ty, tx, w] of taps) {
      const inside = tf.logicalAnd(
        tf.logicalAnd(tf.greaterEqual(tx, 0), tf.less(tx, width)),
        tf.logicalAnd(tf.greaterEqual(ty, 0), tf.less(ty, height)),
      );
      const flat = tf.add(tf.mul(ty, width), tx);
      indices.push(tf.where(inside, flat, tf.zerosLike(flat)));
      weights.push(tf.where(inside, w, tf.zerosLike(w)));
    }
    return { index: tf.cast(tf.concat(indices, -1), 'int32'), weight: tf.concat(weights, -1) };
  });
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
    const { index, weight } = bilinearTaps(coords, height, width); // [R, P, 4]
    const rowOffset = tf.reshape(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(height * width, 'int32')), [rows, 1, 1]);
    const flatIndex = tf.reshape(tf.add(index, rowOffset), [rows * points * 4]);
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
