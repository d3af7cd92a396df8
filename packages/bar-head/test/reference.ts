/**
 * Independent re-derivations used by the tests: a plain-JS band (explicit window loops)
 * and a naive BAR forward (N explicit copies of the features, one full conv over the
 * concatenation, `tf.tanh`, features resized before compression).
 */
import * as tf from '@tensorflow/tfjs';

/** Band of one `[h, w]` probability map by explicit clipped-window loops, float32 arithmetic. */
export function jsBand(
  p: Float32Array,
  h: number,
  w: number,
  kernel: number,
  epsilon: number,
  relative = false,
): Uint8Array {
  const r = (kernel - 1) / 2;
  const g = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let hi = -Infinity;
      let lo = Infinity;
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
          const v = p[yy * w + xx]!;
          if (v > hi) hi = v;
          if (v < lo) lo = v;
        }
      }
      g[y * w + x] = Math.fround(hi - lo);
    }
  }
  let threshold = Math.fround(epsilon);
  if (relative) threshold = Math.fround(Math.fround(epsilon) * Math.max(...g));
  return Uint8Array.from(g, (v) => (v > threshold ? 1 : 0));
}

/** Render a `[h, w]` 0/1 map as rows of `#` and `.` for readable expectations. */
export function asGrid(values: ArrayLike<number>, h: number, w: number): string[] {
  const rows: string[] = [];
  for (let y = 0; y < h; y++) {
    let row = '';
    for (let x = 0; x < w; x++) row += values[y * w + x] ? '#' : '.';
    rows.push(row);
  }
  return rows;
}

/** A `[1, 1, h, w]` map that is 1 on rows/cols `[r0, r1]` and 0 elsewhere. */
export function squareMask(h: number, w: number, r0: number, r1: number, c0 = r0, c1 = r1): tf.Tensor4D {
  const v = new Float32Array(h * w);
  for (let y = r0; y <= r1; y++) for (let x = c0; x <= c1; x++) v[y * w + x] = 1;
  return tf.tensor4d(v, [1, 1, h, w]);
}

/** Named weights of a BAR layer as plain tensors (the test's own view of the parameters). */
export interface BarWeights {
  fCompKernel: tf.Tensor2D;
  fCompBias: tf.Tensor1D;
  conv1Kernel: tf.Tensor4D;
  conv1Bias: tf.Tensor1D;
  conv2Kernel: tf.Tensor4D;
  conv2Bias: tf.Tensor1D;
  alpha: tf.Scalar;
}

/**
 * Naive BAR: resize F_pix to the mask resolution, f_comp, tile over the N masks,
 * concatenate `[M ‖ F_comp]`, conv → ReLU → conv, `α·tf.tanh`, masked by the given band.
 */
export function naiveBar(
  maskLogits: tf.Tensor4D,
  pixelFeatures: tf.Tensor4D,
  band: tf.Tensor4D,
  wts: BarWeights,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, n, h, w] = maskLogits.shape;
    let feats = pixelFeatures;
    if (feats.shape[1] !== h || feats.shape[2] !== w) feats = tf.image.resizeBilinear(feats, [h, w], false, true);
    const c = feats.shape[3];
    const comp = tf.add(tf.matMul(tf.reshape(feats, [-1, c]), wts.fCompKernel), wts.fCompBias);
    const cc = wts.fCompKernel.shape[1];
    const compImg = tf.reshape(comp, [b, 1, h, w, cc]);
    const tiled = tf.tile(compImg, [1, n, 1, 1, 1]);
    const masks = tf.reshape(maskLogits, [b, n, h, w, 1]);
    const x = tf.reshape(tf.concat([masks, tiled], 4), [b * n, h, w, 1 + cc]) as tf.Tensor4D;
    const hidden = tf.relu(tf.add(tf.conv2d(x, wts.conv1Kernel, 1, 'same'), wts.conv1Bias)) as tf.Tensor4D;
    const out = tf.add(tf.conv2d(hidden, wts.conv2Kernel, 1, 'same'), wts.conv2Bias);
    const delta = tf.mul(tf.tanh(tf.reshape(out, [b, n, h, w])), wts.alpha);
    return tf.add(maskLogits, tf.mul(delta, band)) as tf.Tensor4D;
  });
}

/** Read the layer's weights by their stable names. */
export function barWeights(named: Map<string, tf.LayerVariable>): BarWeights {
  const get = (k: string): tf.Tensor => {
    const v = named.get(k);
    if (!v) throw new Error(`missing weight ${k}`);
    return v.read();
  };
  return {
    fCompKernel: get('f_comp.kernel') as tf.Tensor2D,
    fCompBias: get('f_comp.bias') as tf.Tensor1D,
    conv1Kernel: get('f_refine.conv1.kernel') as tf.Tensor4D,
    conv1Bias: get('f_refine.conv1.bias') as tf.Tensor1D,
    conv2Kernel: get('f_refine.conv2.kernel') as tf.Tensor4D,
    conv2Bias: get('f_refine.conv2.bias') as tf.Tensor1D,
    alpha: get('alpha') as tf.Scalar,
  };
}

/** Logits of noisy discs centred in `[lo, hi]` of each axis: a band that is neither empty nor everything. */
export function blobLogits(b: number, n: number, h: number, w: number, seed: number, lo = 0.3, hi = 0.7): tf.Tensor4D {
  return tf.tidy(() => {
    const ys = tf.reshape(tf.range(0, h), [1, 1, h, 1]);
    const xs = tf.reshape(tf.range(0, w), [1, 1, 1, w]);
    const centres = tf.randomUniform([b, n, 2, 1], lo, hi, 'float32', seed);
    const cy = tf.mul(tf.slice(centres, [0, 0, 0, 0], [b, n, 1, 1]), h);
    const cx = tf.mul(tf.slice(centres, [0, 0, 1, 0], [b, n, 1, 1]), w);
    const r2 = tf.add(tf.square(tf.sub(ys, cy)), tf.square(tf.sub(xs, cx)));
    const radius = Math.min(h, w) / 4;
    const noise = tf.randomNormal([b, n, h, w], 0, 0.3, 'float32', seed + 1);
    return tf.add(tf.mul(tf.sub(radius * radius, r2), 4 / (radius * radius)), noise) as tf.Tensor4D;
  });
}
