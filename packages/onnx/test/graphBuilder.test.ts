import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ValueError, selectBackend } from '@flowseg/core';
import { OnnxGraphBuilder } from '../src/index.js';
import { session } from './support.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('OnnxGraphBuilder', () => {
  it('uniqueName reserves fresh names', () => {
    const g = new OnnxGraphBuilder();
    g.addInput('x', 'float32', [1]);
    expect(g.uniqueName('x')).toBe('x_1');
    expect(g.uniqueName('x')).toBe('x_2');
    expect(g.uniqueName('y')).toBe('y');
    expect(g.op('Relu', ['x'], {}, 'y')).toBe('y_1');
    expect(g.op('Relu', ['x'])).toBe('relu');
    expect(g.op('Relu', ['x'])).toBe('relu_1');
  });

  it('checks that nodes read defined values and define each value once', () => {
    const g = new OnnxGraphBuilder();
    g.addInput('x', 'float32', ['n']);
    expect(() => g.addNode('Relu', ['nope'], ['y'])).toThrow(/input "nope" is not defined/);
    g.addNode('Relu', ['x'], ['y']);
    expect(() => g.addNode('Relu', ['x'], ['y'])).toThrow(/output "y" is already defined/);
    expect(() => g.addNode('Split', ['x'], ['a', 'a'])).toThrow(/already defined/);
    expect(() => g.addInput('x', 'float32', [1])).toThrow(/already defined/);
    expect(() => g.addInput('z', 'float32', [1.5])).toThrow(ValueError);
    expect(() => g.addInput('z', 'float16' as never, [1])).toThrow(DTypeError);
    expect(() => g.addOutput('missing')).toThrow(/not a defined value/);
    expect(() => new OnnxGraphBuilder().toModelProto()).toThrow(/no outputs/);
    // An omitted optional input is ''.
    expect(g.addNode('Clip', ['y', '', ''], ['c'])).toEqual(['c']);
  });

  it('infers element types for graph outputs (Cast, comparisons, Shape, pass-through)', () => {
    const g = new OnnxGraphBuilder();
    g.addInput('x', 'float32', ['n']);
    expect(g.dtypeOf(g.op('Not', [g.op('Greater', ['x', 'x'])]))).toBe('bool');
    expect(g.dtypeOf(g.op('Cast', ['x'], { to: 7 }))).toBe('int64');
    expect(g.dtypeOf(g.op('Shape', ['x']))).toBe('int64');
    expect(g.dtypeOf(g.op('Transpose', ['x']))).toBe('float32');
    const custom = g.addNode('MyOp', ['x'], ['m'], {}, { domain: 'com.example' })[0]!;
    expect(g.dtypeOf(custom)).toBeUndefined();
    expect(() => g.addOutput(custom)).toThrow(/element type is unknown/);
  });

  it('initializers from tf tensors (float32, int32, bool) and typed arrays; data length is checked', () => {
    const g = new OnnxGraphBuilder();
    const t = tf.tensor1d([true, false, true], 'bool');
    g.addInitializer('b', t);
    g.addInitializer('i', tf.tensor1d([1, -2], 'int32'));
    g.addInitializer('f', Float32Array.of(1, 2, 3, 4), [2, 2]);
    expect(() => g.addInitializer('bad', Float32Array.of(1, 2, 3), [2, 2])).toThrow(/holds 4 elements, data has 3/);
    expect(() => g.addInitializer('s', tf.tensor1d(['a'], 'string'))).toThrow(DTypeError);
    g.addOutput(g.op('Identity', ['f']));
    const inits = g.toModelProto().graph.initializers;
    expect(inits.map((i) => [i.name, i.dataType, i.dims])).toEqual([
      ['b', 'bool', [3]],
      ['i', 'int32', [2]],
      ['f', 'float32', [2, 2]],
    ]);
    expect(Array.from(inits[0]!.rawData)).toEqual([1, 0, 1]);
    expect(Array.from(new Int32Array(inits[1]!.rawData.slice().buffer))).toEqual([1, -2]);
    tf.dispose(t);
  });

  it('small identical constants are shared, different ones are not', () => {
    const g = new OnnxGraphBuilder();
    const a = g.addConstant('c', BigInt64Array.of(0n, 0n, 4n), [3]);
    const b = g.addConstant('c', BigInt64Array.of(0n, 0n, 4n), [3]);
    const c = g.addConstant('c', BigInt64Array.of(0n, 0n, 5n), [3]);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('a graph with a symbolic batch axis runs on ONNX Runtime at two batch sizes', async () => {
    const g = new OnnxGraphBuilder();
    g.addInput('x', 'float32', ['batch', 3]);
    const w = g.addInitializer('w', Float32Array.of(1, 0, 0, 1, 1, 1), [3, 2]);
    g.addOutput(g.op('MatMul', ['x', w], {}, 'y'), 'float32', ['batch', 2]);
    const s = await session(g.serialize());
    for (const n of [1, 4]) {
      const x = Float32Array.from({ length: n * 3 }, (_, i) => i);
      const { y } = await s.runTyped({ x: { dtype: 'float32', dims: [n, 3], data: x } });
      expect(y!.dims).toEqual([n, 2]);
      const expected = Array.from({ length: n }, (_, r) => [x[r * 3]! + x[r * 3 + 2]!, x[r * 3 + 1]! + x[r * 3 + 2]!]).flat();
      expect(Array.from(y!.data as Float32Array)).toEqual(expected);
    }
    await s.release();
  });

  it('pruneUnused drops nodes and initializers no output needs; dimsOf reports declared shapes', () => {
    const g = new OnnxGraphBuilder();
    g.addInput('x', 'float32', ['batch', 3]);
    const w = g.addInitializer('w', new Float32Array(6), [3, 2]);
    const unused = g.addInitializer('unused', new Float32Array(3), [3]);
    const y = g.op('MatMul', ['x', w], {}, 'y');
    g.op('Add', ['x', unused], {}, 'dead'); // nothing reads it
    g.op('Relu', [y], {}, 'dead_too');
    g.addOutput(y);
    expect(g.dimsOf('x')).toEqual(['batch', 3]);
    expect(g.dimsOf('w')).toEqual([3, 2]);
    expect(g.dimsOf(y)).toBeUndefined();
    expect(g.pruneUnused()).toBe(2);
    const graph = g.toModelProto().graph;
    expect(graph.nodes.map((n) => n.opType)).toEqual(['MatMul']);
    expect(graph.initializers.map((t) => t.name)).toEqual(['w']);
    expect(g.inputNames).toEqual(['x']);
    expect(g.outputNames).toEqual(['y']);
  });
});
