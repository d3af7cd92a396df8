import * as tf from '@tensorflow/tfjs';

/**
 * Why `gatherND`/`scatterND` and not `gather`: on tfjs-backend-wasm `GatherV2` moves only a
 * few million elements per second (slower than BAR's whole dense conv path), while
 * `GatherNd`/`ScatterNd` run ~10× faster. Neither has a registered gradient in TF.js, so each
 * is wrapped in `tf.customGrad` with the other as its gradient. The index tensor is an input
 * of the custom op (and saved for the backward pass), so it outlives the caller's `tidy`.
 */
const gatherNd = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [params, indices, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([indices]);
  const shape = params.shape;
  return {
    value: tf.gatherND(params, indices) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.scatterND(saved[0]!, dy, shape), tf.zerosLike(saved[0]!)],
  };
});

/** `ScatterNd` into `[rows, cols]`, with `GatherNd` as its gradient. */
function scatterNdInto(rows: number) {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [values, indices, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([indices]);
    return {
      value: tf.scatterND(indices, values, [rows, values.shape[1]]) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.gatherND(dy, saved[0]!), tf.zerosLike(saved[0]!)],
    };
  });
}

/**
 * `out[i] = params[indices[i]]` over the rows of a 2-D tensor, where index −1 gives a row of
 * zeros (how BAR expresses the convs' zero padding). Differentiable in `params`: the gradient
 * scatter-adds `dy` back onto the rows, dropping the −1 rows.
 *
 * @param params - `[rows, cols]`, float32.
 * @param indices - one row index per output row, each in `[-1, rows)` (not checked: BAR builds them).
 * @returns `[indices.length, cols]`.
 */
export function gatherRows(params: tf.Tensor2D, indices: Int32Array): tf.Tensor2D {
  return tf.tidy(() => {
    let invalid = false;
    const clamped = new Int32Array(indices.length);
    const valid = new Float32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const r = indices[i]!;
      if (r < 0) invalid = true;
      else {
        clamped[i] = r;
        valid[i] = 1;
      }
    }
    const out = gatherNd(params, tf.tensor2d(clamped, [indices.length, 1], 'int32')) as tf.Tensor2D;
    // −1 rows read row 0, then are zeroed (and so pass back a zero gradient).
    return invalid ? (tf.mul(out, tf.tensor2d(valid, [indices.length, 1])) as tf.Tensor2D) : out;
  });
}

/**
 * `out[indices[i]] += values[i]` into `rows` zero rows: the transpose of {@link gatherRows}.
 * Rows that no index names are exactly 0. Differentiable in `values` (gradient: a row gather).
 *
 * @param values - `[n, cols]`, float32.
 * @param indices - `n` row indices in `[0, rows)` (not checked: BAR builds them).
 * @param rows - number of output rows.
 * @returns `[rows, cols]`.
 */
export function scatterRows(values: tf.Tensor2D, indices: Int32Array, rows: number): tf.Tensor2D {
  return tf.tidy(() => scatterNdInto(rows)(values, tf.tensor2d(indices, [indices.length, 1], 'int32')) as tf.Tensor2D);
}
