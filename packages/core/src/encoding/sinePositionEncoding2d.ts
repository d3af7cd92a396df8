import * as tf from '@tensorflow/tfjs';
import { ValueError } from '../errors/FlowSegError.js';

/** Options of {@link sinePositionEncoding2d}. */
export interface SinePositionEncodingOptions {
  /** Frequency base (DETR: 10000). */
  temperature?: number;
  /** Normalize coordinates to `(0, scale]` (DETR/Mask2Former: true). */
  normalize?: boolean;
  /** Coordinate range when normalizing (default 2π). */
  scale?: number;
}

/**
 * The DETR / Mask2Former 2-D sine positional encoding (`PositionEmbeddingSine`,
 * `normalize=True`, scale 2π) for an unpadded `height × width` grid.
 *
 * For row `i` and column `j` (1-based), with `F = channels / 2` features per axis and
 * `y = i / (height + 1e-6) · scale`, `x = j / (width + 1e-6) · scale` when normalizing:
 * `dim_t[k] = temperature^(2⌊k/2⌋ / F)`, feature `k` of an axis is `sin(c / dim_t[k])` for even
 * `k` and `cos(c / dim_t[k])` for odd `k`; the output is `[y-features ‖ x-features]`.
 *
 * @param height - grid rows.
 * @param width - grid columns.
 * @param channels - output width; must be even.
 * @returns `[height·width, channels]` (row-major pixels, like a flattened NHWC map).
 */
export function sinePositionEncoding2d(
  height: number,
  width: number,
  channels: number,
  options: SinePositionEncodingOptions = {},
): tf.Tensor2D {
  for (const [name, v] of [
    ['height', height],
    ['width', width],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new ValueError(`${name}: expected a positive integer, received ${v}`, name);
  }
  if (!Number.isInteger(channels) || channels <= 0 || channels % 2 !== 0) {
    throw new ValueError(`channels: expected a positive even integer, received ${channels}`, 'channels');
  }
  const temperature = options.temperature ?? 10000;
  const normalize = options.normalize ?? true;
  const scale = options.scale ?? 2 * Math.PI;
  const f = channels / 2;
  const invDim = new Float64Array(f);
  for (let k = 0; k < f; k++) invDim[k] = 1 / Math.pow(temperature, (2 * Math.floor(k / 2)) / f);
  const axis = (n: number): Float32Array => {
    const out = new Float32Array(n * f);
    for (let i = 0; i < n; i++) {
      const c = normalize ? ((i + 1) / (n + 1e-6)) * scale : i + 1;
      for (let k = 0; k < f; k++) {
        const a = c * invDim[k]!;
        out[i * f + k] = k % 2 === 0 ? Math.sin(a) : Math.cos(a);
      }
    }
    return out;
  };
  const ys = axis(height);
  const xs = axis(width);
  const data = new Float32Array(height * width * channels);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const at = (i * width + j) * channels;
      data.set(ys.subarray(i * f, (i + 1) * f), at);
      data.set(xs.subarray(j * f, (j + 1) * f), at + f);
    }
  }
  return tf.tensor2d(data, [height * width, channels]);
}
