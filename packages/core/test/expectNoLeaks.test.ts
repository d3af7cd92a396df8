import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { expectNoLeaks, expectNoLeaksAsync, TensorLeakError } from '@flowseg/core/testing';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('expectNoLeaks', () => {
  it('passes when only returned tensors remain, searching arrays, maps and objects', () => {
    const x = tf.ones([2]);
    const out = expectNoLeaks(() => ({ a: tf.add(x, 1), list: [tf.mul(x, 2)], map: new Map([['k', tf.neg(x)]]) }));
    expect(out.a.dataSync()[0]).toBe(2);
    expect(out.map.get('k')!.dataSync()[0]).toBe(-1);
    tf.dispose([out.a, ...out.list, ...out.map.values(), x]);
  });

  it('throws TensorLeakError when a call leaves an unreturned tensor behind', () => {
    const x = tf.ones([2]);
    let leaked: tf.Tensor | null = null;
    expect(() =>
      expectNoLeaks(() => {
        leaked = tf.add(x, 1);
        return tf.mul(x, 2);
      }),
    ).toThrow(TensorLeakError);
    expect(() => expectNoLeaks(() => tf.add(x, 1))).not.toThrow();
    tf.dispose([x, leaked!]);
  });

  it('warmup excludes tensors created once on first use', () => {
    const cache: tf.Tensor[] = [];
    const lazy = () => {
      if (cache.length === 0) cache.push(tf.zeros([1]));
      return tf.add(cache[0]!, 1);
    };
    expect(() => expectNoLeaks(lazy)).toThrow(TensorLeakError);
    tf.dispose(cache.splice(0));
    const out = expectNoLeaks(lazy, { warmup: true });
    tf.dispose([out, ...cache]);
  });

  it('a result that passes an argument through: the argument is neither counted nor disposed by warmup', async () => {
    const input = tf.ones([2]);
    const layerLike = () => ({ output: tf.add(input, 1), passedThrough: input });
    const out = expectNoLeaks(layerLike, { warmup: true });
    expect(input.isDisposed).toBe(false);
    expect(Array.from(out.output.dataSync())).toEqual([2, 2]);
    out.output.dispose();
    const asyncOut = await expectNoLeaksAsync(async () => layerLike(), { warmup: true });
    expect(input.isDisposed).toBe(false);
    asyncOut.output.dispose();
    // A pass-through plus a leak is still a leak.
    let leaked: tf.Tensor | null = null;
    expect(() =>
      expectNoLeaks(() => {
        leaked = tf.neg(input);
        return { passedThrough: input };
      }),
    ).toThrow(TensorLeakError);
    tf.dispose([input, leaked!]);
  });

  it('has an async variant', async () => {
    await expect(expectNoLeaksAsync(async () => tf.ones([1]))).resolves.toBeInstanceOf(tf.Tensor);
    await expect(
      expectNoLeaksAsync(async () => {
        tf.ones([1]);
        return null;
      }),
    ).rejects.toThrow(TensorLeakError);
  });
});
