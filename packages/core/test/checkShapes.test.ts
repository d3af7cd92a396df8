import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { checkShapes, DTypeError, FlowSegError, selectBackend, ShapeError } from '@flowseg/core';

beforeAll(async () => {
  await selectBackend('wasm');
});

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('checkShapes', () => {
  let q: tf.Tensor;
  let m: tf.Tensor;
  beforeAll(() => {
    q = tf.zeros([2, 5, 8]);
    m = tf.zeros([2, 7, 8]);
  });

  it('binds symbolic axes across arguments and returns every binding', () => {
    const bound = checkShapes({
      queries: { tensor: q, axes: ['batch', 'queries', 'channels'] },
      memory: { tensor: m, axes: ['batch', 'pixels', 'channels'] },
    });
    expect(bound).toEqual({ batch: 2, queries: 5, channels: 8, pixels: 7 });
  });

  it('a symbolic axis bound by an earlier argument must agree in later ones', () => {
    const err = thrown(() =>
      checkShapes({
        queries: { tensor: q, axes: ['batch', 'queries', 'channels'] },
        memory: { tensor: tf.zeros([3, 7, 8]), axes: ['batch', 'pixels', 'channels'] },
      }),
    );
    expect(err).toBeInstanceOf(ShapeError);
    expect(err).toBeInstanceOf(FlowSegError);
    expect((err as ShapeError).argument).toBe('memory');
    expect(err.message).toBe('memory: expected [batch=2, pixels, channels=8], received [3, 7, 8] (batch: 3 ≠ 2)');
    expect((err as ShapeError).received).toEqual([3, 7, 8]);
  });

  it('the same symbol twice within one argument must agree', () => {
    expect(checkShapes({ square: { tensor: tf.zeros([3, 3]), axes: ['n', 'n'] } })).toEqual({ n: 3 });
    expect(() => checkShapes({ square: { tensor: tf.zeros([3, 4]), axes: ['n', 'n'] } })).toThrow('square: expected [n=3, n=3], received [3, 4] (n: 4 ≠ 3)');
  });

  it('preset sizes act as already-bound symbols', () => {
    expect(checkShapes({ queries: { tensor: q, axes: ['batch', 'queries', 'channels'] } }, { channels: 8 }).channels).toBe(8);
    expect(() => checkShapes({ queries: { tensor: q, axes: ['batch', 'queries', 'channels'] } }, { channels: 16 })).toThrow(
      'queries: expected [batch=2, queries=5, channels=16], received [2, 5, 8] (channels: 8 ≠ 16)',
    );
  });

  it('fixed sizes and named fixed sizes', () => {
    expect(checkShapes({ box: { tensor: tf.zeros([6, 4]), axes: ['boxes', 4] } })).toEqual({ boxes: 6 });
    expect(() => checkShapes({ box: { tensor: tf.zeros([6, 5]), axes: ['boxes', 4] } })).toThrow('box: expected [boxes=6, 4], received [6, 5] (axis 1: 5 ≠ 4)');
    expect(() => checkShapes({ x: { tensor: q, axes: ['batch', 'queries', { name: 'channels', size: 16 }] } })).toThrow(
      'x: expected [batch=2, queries=5, channels=16], received [2, 5, 8] (channels: 8 ≠ 16)',
    );
  });

  it('rank mismatch names the argument, the expected axes and both ranks', () => {
    const err = thrown(() => checkShapes({ queries: { tensor: tf.zeros([5, 8]), axes: ['batch', 'queries', 'channels'] } }));
    expect(err).toBeInstanceOf(ShapeError);
    expect(err.message).toBe('queries: expected [batch, queries, channels], received [5, 8] (rank 2, expected rank 3)');
  });

  it('optional arguments may be null or undefined; required ones may not', () => {
    expect(
      checkShapes({
        a: { tensor: q, axes: ['batch', 'n', 'c'] },
        pos: { tensor: null, axes: ['batch', 'n', 'c'], optional: true },
        mask: { tensor: undefined, axes: ['batch', 'n'], optional: true },
      }),
    ).toEqual({ batch: 2, n: 5, c: 8 });
    // An optional argument that is present is checked like any other.
    expect(() => checkShapes({ a: { tensor: q, axes: ['batch', 'n', 'c'] }, pos: { tensor: tf.zeros([2, 6, 8]), axes: ['batch', 'n', 'c'], optional: true } })).toThrow(
      ShapeError,
    );
    const err = thrown(() => checkShapes({ a: { tensor: null, axes: ['batch', 'n'] } }));
    expect(err).toBeInstanceOf(ShapeError);
    expect(err.message).toBe('a: expected [batch, n], received [] (argument is missing)');
  });

  it('dtype errors name the argument, the accepted dtypes and what arrived', () => {
    const err = thrown(() => checkShapes({ mask: { tensor: tf.zeros([2, 3]), axes: ['b', 'n'], dtypes: ['bool', 'int32'] } }));
    expect(err).toBeInstanceOf(DTypeError);
    expect(err.message).toBe('mask: expected dtype bool | int32, received float32');
    expect((err as DTypeError).argument).toBe('mask');
    expect((err as DTypeError).expected).toEqual(['bool', 'int32']);
    expect((err as DTypeError).received).toBe('float32');
    expect(checkShapes({ mask: { tensor: tf.zeros([2, 3], 'bool'), axes: ['b', 'n'], dtypes: ['bool'] } })).toEqual({ b: 2, n: 3 });
  });

  it('checks arguments in insertion order and reports the first offender', () => {
    const err = thrown(() =>
      checkShapes({
        first: { tensor: tf.zeros([2]), axes: ['a', 'b'] },
        second: { tensor: tf.zeros([2]), axes: ['a', 'b', 'c'] },
      }),
    );
    expect((err as ShapeError).argument).toBe('first');
  });

  it('zero-size axes bind like any other size', () => {
    expect(checkShapes({ a: { tensor: tf.zeros([0, 3]), axes: ['n', 'c'] }, b: { tensor: tf.zeros([0, 3]), axes: ['n', 'c'] } })).toEqual({ n: 0, c: 3 });
    expect(() => checkShapes({ a: { tensor: tf.zeros([0, 3]), axes: ['n', 'c'] }, b: { tensor: tf.zeros([1, 3]), axes: ['n', 'c'] } })).toThrow('n: 1 ≠ 0');
  });
});
