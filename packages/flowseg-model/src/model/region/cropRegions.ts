import * as tf from '@tensorflow/tfjs';
import type { RegionBoxes } from './regionBoxes.js';

/**
 * Bilinear sampling weights along one axis: output sample `j` of `size` sits at
 * `p = centre − half + (j + ½)·2·half/size` (normalized), i.e. at source index
 * `u = p·length − ½` (pixel centres at `(i + ½)/length`), and reads source pixel `i` with weight
 * `max(0, 1 − |u − i|)`. Samples beyond the image read nothing (zero padding).
 *
 * @returns `[regions, size, length]`, or `[regions, length, size]` when `sourceFirst`.
 */
export function bilinearSamplingWeights(
  centre: tf.Tensor1D,
  half: tf.Tensor1D,
  size: number,
  length: number,
  sourceFirst = false,
): tf.Tensor3D {
  return tf.tidy(() => {
    const steps = tf.div(tf.add(tf.range(0, size, 1, 'float32'), 0.5), size / 2); // (j + ½)·2/size
    const stepShape = sourceFirst ? [1, 1, size] : [1, size, 1];
    const sourceShape = sourceFirst ? [1, length, 1] : [1, 1, length];
    const at = (t: tf.Tensor1D) => tf.reshape(t, [-1, 1, 1]);
    const p = tf.add(tf.sub(at(centre), at(half)), tf.mul(at(half), tf.reshape(steps, stepShape)));
    const u = tf.sub(tf.mul(p, length), 0.5);
    const source = tf.reshape(tf.range(0, length, 1, 'float32'), sourceShape);
    return tf.relu(tf.sub(1, tf.abs(tf.sub(u, source)))) as tf.Tensor3D;
  });
}

/**
 * Crop and resample one square box per region from the image its row belongs to:
 * `crop_k = W_y,k · image · W_x,kᵀ` (separable bilinear sampling as two batched matmuls, so it
 * runs — and exports — as plain products on every backend).
 *
 * @param images - `[rows, height, width, channels]`.
 * @param boxes - `rows·perRow` boxes, row-major (region `k` belongs to row `⌊k / perRow⌋`).
 * @param perRow - regions per row.
 * @param size - crop side.
 * @returns `[rows·perRow, size, size, channels]`.
 */
export function cropImageRegions(images: tf.Tensor4D, boxes: RegionBoxes, perRow: number, size: number): tf.Tensor4D {
  const [rows, height, width, channels] = images.shape;
  const regions = rows * perRow;
  return tf.tidy(() => {
    const wy = tf.reshape(bilinearSamplingWeights(boxes.centerY, boxes.half, size, height), [rows, perRow * size, height]);
    const wxT = bilinearSamplingWeights(boxes.centerX, boxes.half, size, width, true); // [K, width, size]
    const alongY = tf.matMul(wy, tf.reshape(images, [rows, height, width * channels])); // [rows, perRow·size, width·channels]
    const columnsLast = tf.transpose(tf.reshape(alongY, [regions, size, width, channels]), [0, 1, 3, 2]);
    const alongX = tf.matMul(tf.reshape(columnsLast, [regions, size * channels, width]), wxT); // [K, size·channels, size]
    return tf.transpose(tf.reshape(alongX, [regions, size, channels, size]), [0, 1, 3, 2]) as tf.Tensor4D;
  });
}

/**
 * Crop and resample one square box from each region's own single-channel map (e.g. its mask).
 * @param maps - `[regions, mapHeight, mapWidth]`.
 * @returns `[regions, size, size]`.
 */
export function cropMapRegions(maps: tf.Tensor3D, boxes: RegionBoxes, size: number): tf.Tensor3D {
  const [, height, width] = maps.shape;
  return tf.tidy(() => {
    const wy = bilinearSamplingWeights(boxes.centerY, boxes.half, size, height);
    const wxT = bilinearSamplingWeights(boxes.centerX, boxes.half, size, width, true);
    return tf.matMul(tf.matMul(wy, maps), wxT) as tf.Tensor3D;
  });
}
