import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { gatherRows, scatterRows } from '@flowseg/bar-head';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('gatherRows / scatterRows', () => {
  it('gatherRows picks rows and reads −1 as a zero row', () => {
    const params = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const out = gatherRows(params, Int32Array.from([2, -1, 0, 2]));
    expect(out.shape).toEqual([4, 2]);
    expect(Array.from(out.dataSync())).toEqual([5, 6, 0, 0, 1, 2, 5, 6]);
    tf.dispose([params, out]);
  });

  it('scatterRows sums duplicate rows and leaves the others exactly 0', () => {
    const values = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const out = scatterRows(values, Int32Array.from([3, 0, 3]), 5);
    expect(Array.from(out.dataSync())).toEqual([3, 4, 0, 0, 0, 0, 1 + 5, 2 + 6, 0, 0]);
    tf.dispose([values, out]);
  });

  it('gatherRows has the scatter-add gradient (by hand), and scatterRows the gather gradient', () => {
    const params = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const indices = Int32Array.from([4, 0, -1, 4, 4, 1]);
    const w = tf.randomNormal([6, 3], 0, 1, 'float32', 2);
    const g = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(gatherRows(p as tf.Tensor2D, indices), w)))(params);
    // Row 4 collects output rows 0, 3, 4; row 0 ← 1; row 1 ← 5; rows 2 and 3 get nothing; −1 is dropped.
    const wv = w.arraySync() as number[][];
    const want = [wv[1]!, wv[5]!, [0, 0, 0], [0, 0, 0], wv[0]!.map((v, c) => v + wv[3]![c]! + wv[4]![c]!)];
    (g.arraySync() as number[][]).forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(want[r]![c]!, 5)));

    const values = tf.randomNormal([3, 2], 0, 1, 'float32', 3) as tf.Tensor2D;
    const w2 = tf.randomNormal([4, 2], 0, 1, 'float32', 4);
    const gs = tf.grad((v: tf.Tensor) =>
      tf.sum(tf.mul(scatterRows(v as tf.Tensor2D, Int32Array.from([3, 0, 3]), 4), w2)),
    )(values);
    const w2v = w2.arraySync() as number[][];
    expect(gs.arraySync()).toEqual([w2v[3], w2v[0], w2v[3]]);
    tf.dispose([params, w, g, values, w2, gs]);
  });

  it('gradients survive the caller’s tidy (index tensors are saved by the op)', () => {
    const params = tf.randomNormal([4, 2], 0, 1, 'float32', 5) as tf.Tensor2D;
    const g = tf.grad((p: tf.Tensor) =>
      tf.tidy(() =>
        tf.sum(scatterRows(gatherRows(p as tf.Tensor2D, Int32Array.from([1, 1, -1])), Int32Array.from([0, 2, 1]), 3)),
      ),
    )(params);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 2, 2, 0, 0, 0, 0]);
    tf.dispose([params, g]);
  });

  it('leaks no tensors', () => {
    const params = tf.randomNormal([4, 2], 0, 1, 'float32', 6) as tf.Tensor2D;
    const indices = Int32Array.from([3, -1, 1]);
    tf.dispose(expectNoLeaks(() => gatherRows(params, indices), { warmup: true }));
    tf.dispose(expectNoLeaks(() => scatterRows(params, Int32Array.from([0, 5, 5, 1]), 6), { warmup: true }));
    tf.dispose(
      expectNoLeaks(() => tf.grad((p: tf.Tensor) => tf.sum(gatherRows(p as tf.Tensor2D, indices)))(params), {
        warmup: true,
      }),
    );
    tf.dispose(
      expectNoLeaks(
        () =>
          tf.grad((p: tf.Tensor) => tf.sum(scatterRows(p as tf.Tensor2D, Int32Array.from([2, 2, 0, 1]), 3)))(params),
        {
          warmup: true,
        },
      ),
    );
    params.dispose();
  });
});
