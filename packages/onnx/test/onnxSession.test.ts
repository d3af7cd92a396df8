import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DTypeError, Linear, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaksAsync } from '@flowseg/core/testing';
import { OnnxGraphBuilder, OnnxRuntimeUnavailableError, OnnxSession, exportOnnx, loadOnnxRuntime } from '../src/index.js';
import { exportOnnxFile, writeOnnxFile } from '../src/node/index.js';
import { randn, relativeError, session } from './support.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** x float32 [n] → { y: x + 1 (float32), positive: x > 0 (bool), shape: Shape(x) (int64) }. */
function probeModel(): Uint8Array {
  const g = new OnnxGraphBuilder();
  g.addInput('x', 'float32', ['n']);
  g.addInput('k', 'int32', ['n']);
  g.addOutput(g.op('Add', ['x', g.addConstant('one', Float32Array.of(1), [])], {}, 'y'));
  g.addOutput(g.op('Greater', ['x', g.addConstant('zero', Float32Array.of(0), [])], {}, 'positive'));
  g.addOutput(g.op('Shape', ['x'], {}, 'shape'));
  g.addOutput(g.op('Mul', ['k', g.addConstant('two', Int32Array.of(2), [])], {}, 'k2'));
  return g.serialize();
}

describe('OnnxSession', () => {
  it('a runtime that cannot be imported gives a clear error saying what to install', async () => {
    const bytes = probeModel();
    const attempt = OnnxSession.create(bytes, { moduleSpecifier: 'onnxruntime-node-that-is-not-installed' });
    await expect(attempt).rejects.toThrow(OnnxRuntimeUnavailableError);
    await expect(attempt).rejects.toThrow(
      /onnxruntime-node could not be loaded from "onnxruntime-node-that-is-not-installed".*install onnxruntime-node \(npm install --ignore-scripts is enough; its install script downloads extras\)/,
    );
    await expect(loadOnnxRuntime('web', 'no-such-ort-web')).rejects.toThrow(/install onnxruntime-web/);
    await expect(loadOnnxRuntime('node', 'node:path')).rejects.toThrow(/is not ONNX Runtime/);
  });

  it('runs with tf tensors in and out (float32, int32, bool), leak-free', async () => {
    const s = await session(probeModel());
    expect(s.inputNames).toEqual(['x', 'k']);
    expect(s.outputNames).toEqual(['y', 'positive', 'shape', 'k2']);
    const x = tf.tensor1d([-1, 0.5, 2]);
    const k = tf.tensor1d([1, 2, 3], 'int32');
    const out = await expectNoLeaksAsync(() => s.run({ x, k }, { outputs: ['y', 'positive', 'k2'] }), { warmup: true });
    expect(Object.keys(out)).toEqual(['y', 'positive', 'k2']);
    expect(await out['y']!.array()).toEqual([0, 1.5, 3]);
    expect(out['positive']!.dtype).toBe('bool');
    expect(await out['positive']!.array()).toEqual([0, 1, 1]); // TF.js reads bool as 0/1
    expect(out['k2']!.dtype).toBe('int32');
    expect(await out['k2']!.array()).toEqual([2, 4, 6]);
    tf.dispose([x, k, ...Object.values(out)]);
    await s.release();
  });

  it('runTyped returns any element type; run refuses int64 (TF.js has none) instead of coercing', async () => {
    const s = await session(probeModel());
    const feeds = {
      x: { dtype: 'float32' as const, dims: [4], data: new Float32Array(4) },
      k: { dtype: 'int32' as const, dims: [4], data: new Int32Array(4) },
    };
    const { shape } = await s.runTyped(feeds, { outputs: ['shape'] });
    expect(shape!.dtype).toBe('int64');
    expect(Array.from(shape!.data as BigInt64Array)).toEqual([4n]);
    await expect(s.run(feeds)).rejects.toThrow(DTypeError);
    await s.release();
  });

  it('validates feeds, outputs, options and use after release', async () => {
    const s = await session(probeModel());
    const x = { dtype: 'float32' as const, dims: [2], data: new Float32Array(2) };
    const k = { dtype: 'int32' as const, dims: [2], data: new Int32Array(2) };
    await expect(s.run({ x })).rejects.toThrow(/input "k" is missing/);
    await expect(s.run({ x, k, z: x })).rejects.toThrow(/no input "z"/);
    await expect(s.run({ x, k }, { outputs: ['nope'] })).rejects.toThrow(/no output "nope"/);
    await expect(s.run({ x: { ...x, dims: [3] }, k })).rejects.toThrow(/holds 3 elements, data has 2/);
    await expect(s.run({ x: { ...x, data: new Int32Array(2) } as never, k })).rejects.toThrow(DTypeError);
    const disposed = tf.tensor1d([1, 2]);
    disposed.dispose();
    await expect(s.run({ x: disposed, k })).rejects.toThrow(/disposed/);
    await s.release();
    await expect(s.run({ x, k })).rejects.toThrow(/released/);
    await expect(OnnxSession.create(probeModel(), { intraOpNumThreads: 0 })).rejects.toThrow(ValueError);
    await expect(OnnxSession.create(new Uint8Array(0))).rejects.toThrow(ValueError);
    await expect(OnnxSession.create(probeModel(), { runtime: 'python' as never })).rejects.toThrow(/runtime/);
  });

  it('exportOnnxFile writes the model atomically; a session loads it from the path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowseg-onnx-'));
    try {
      const layer = new Linear({ inFeatures: 4, outFeatures: 2, seed: 3 });
      const path = join(dir, 'linear.onnx');
      const bytes = await exportOnnxFile(path, layer);
      expect(new Uint8Array(await readFile(path))).toEqual(bytes);
      expect(await readdir(dir)).toEqual(['linear.onnx']); // no temporary file left behind
      const s = await OnnxSession.create(path, { intraOpNumThreads: 1, graphOptimizationLevel: 'basic' });
      const x = randn([3, 2, 4], 1);
      const { output } = await s.run({ x });
      const ref = layer.forward(x);
      expect(relativeError(output!, ref)).toBeLessThan(1e-4);
      await expect(writeOnnxFile(path, new Uint8Array(0))).rejects.toThrow(ValueError);
      tf.dispose([x, output!, ref]);
      await s.release();
      layer.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('allowSpinning: false runs (idle threads sleep); a non-boolean is refused', async () => {
    const layer = new Linear({ inFeatures: 4, outFeatures: 3, seed: 5 });
    const s = await OnnxSession.create(exportOnnx(layer), { intraOpNumThreads: 2, allowSpinning: false });
    const x = randn([2, 5, 4], 3);
    const { output } = await s.run({ x });
    const ref = layer.forward(x);
    expect(relativeError(output!, ref)).toBeLessThan(1e-4);
    tf.dispose([x, output!, ref]);
    await s.release();
    await expect(OnnxSession.create(exportOnnx(layer), { allowSpinning: 'no' as unknown as boolean })).rejects.toThrow(ValueError);
    layer.dispose();
  });

  it('the same API runs onnxruntime-web (WebAssembly) when asked', async () => {
    const layer = new Linear({ inFeatures: 4, outFeatures: 3, seed: 4 });
    const s = await OnnxSession.create(exportOnnx(layer), { runtime: 'web', intraOpNumThreads: 1 });
    expect(s.runtime).toBe('web');
    const x = randn([2, 5, 4], 2);
    const { output } = await s.run({ x });
    const ref = layer.forward(x);
    expect(relativeError(output!, ref)).toBeLessThan(1e-4);
    tf.dispose([x, output!, ref]);
    await s.release();
    layer.dispose();
  });
});
