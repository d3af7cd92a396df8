import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { causalMask, nextTokenCrossEntropy } from '../../src/components.js';

/** −log softmax(row)[target], written out with Math. */
function nll(row: number[], target: number): number {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return lse - row[target]!;
}

describe('nextTokenCrossEntropy', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('matches a hand-computed masked mean over shifted targets', () => {
    const logitsArr = [
      [
        [1, 2, 0.5],
        [0.1, -1, 3],
        [2, 2, 2],
        [0, 0, 9],
      ],
      [
        [-2, 0, 1],
        [4, 1, 0],
        [0.3, 0.2, 0.1],
        [1, 1, 1],
      ],
    ];
    const ids = [
      [1, 2, 0, 1],
      [0, 1, 1, 2],
    ];
    const mask = [
      [1, 1, 0, 1], // targets: tokens at t=1 and t=3 (t=0 is ignored)
      [0, 0, 1, 1],
    ];
    const expected =
      (nll(logitsArr[0]![0]!, 2) + nll(logitsArr[0]![2]!, 1) + nll(logitsArr[1]![1]!, 1) + nll(logitsArr[1]![2]!, 2)) / 4;
    const logits = tf.tensor3d(logitsArr);
    const tokenIds = tf.tensor2d(ids, undefined, 'int32');
    const lossMask = tf.tensor2d(mask);
    const loss = expectNoLeaks(() => nextTokenCrossEntropy({ logits, tokenIds, lossMask }), { warmup: true });
    expect(loss.shape).toEqual([]);
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
    // Same with an int32 / bool mask.
    const asBool = nextTokenCrossEntropy({ logits, tokenIds, lossMask: tf.cast(lossMask, 'bool') as tf.Tensor2D });
    expect(asBool.dataSync()[0]).toBeCloseTo(expected, 5);
    tf.dispose([logits, tokenIds, lossMask, loss, asBool]);
  });

  it('gives 0 (not NaN) without targets and has the softmax gradient', () => {
    const logits = tf.tensor3d([[[0, 0], [1, -1]]]);
    const tokenIds = tf.tensor2d([[0, 1]], undefined, 'int32');
    const none = nextTokenCrossEntropy({ logits, tokenIds, lossMask: tf.zeros([1, 2]) as tf.Tensor2D });
    expect(Math.abs(none.dataSync()[0]!)).toBe(0);
    // d/dlogits[0,0] of −log softmax([0,0])[1] = softmax − onehot = [0.5, −0.5]; row 1 gets nothing.
    const g = tf.grad((l: tf.Tensor) =>
      nextTokenCrossEntropy({ logits: l as tf.Tensor3D, tokenIds, lossMask: tf.ones([1, 2]) as tf.Tensor2D }),
    )(logits);
    const gv = Array.from(g.dataSync());
    [0.5, -0.5, 0, 0].forEach((v, i) => expect(gv[i]).toBeCloseTo(v, 6));
    // A single token has nothing to predict: 0, and still differentiable (zero gradient).
    const single = tf.tensor3d([[[1, 2]]]);
    const g1 = tf.grad((l: tf.Tensor) =>
      nextTokenCrossEntropy({ logits: l as tf.Tensor3D, tokenIds: tf.tensor2d([[1]], undefined, 'int32'), lossMask: tf.ones([1, 1]) as tf.Tensor2D }),
    )(single);
    expect(Array.from(g1.dataSync())).toEqual([0, 0]);
    tf.dispose([logits, tokenIds, none, g, single, g1]);
  });

  it('checks shapes and dtypes', () => {
    const logits = tf.zeros([2, 3, 5]) as tf.Tensor3D;
    const ids = tf.zeros([2, 3], 'int32') as tf.Tensor2D;
    const mask = tf.ones([2, 3]) as tf.Tensor2D;
    expect(() => nextTokenCrossEntropy({ logits, tokenIds: tf.zeros([2, 4], 'int32') as tf.Tensor2D, lossMask: mask })).toThrow(
      ShapeError,
    );
    expect(() => nextTokenCrossEntropy({ logits, tokenIds: tf.zeros([2, 3]) as tf.Tensor2D, lossMask: mask })).toThrow(
      DTypeError,
    );
    expect(() => nextTokenCrossEntropy({ logits, tokenIds: ids, lossMask: tf.ones([3, 3]) as tf.Tensor2D })).toThrow(
      /lossMask/,
    );
    tf.dispose([logits, ids, mask]);
  });
});

describe('causalMask', () => {
  it('blocks exactly the future keys', () => {
    const m = causalMask(3);
    expect(m.shape).toEqual([1, 1, 3, 3]);
    expect(m.dtype).toBe('bool');
    expect(m.arraySync()).toEqual([
      [
        [
          [0, 1, 1],
          [0, 0, 1],
          [0, 0, 0],
        ],
      ],
    ]);
    m.dispose();
  });
});
