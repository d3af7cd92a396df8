import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { CrossAttentionBlock, DTypeError, FlowSegLayer, Linear, MultiHeadAttention, ValueError, selectBackend } from '@flowseg/core';
import {
  exportOnnx,
  exportOnnxGraph,
  findOnnxExporter,
  linearExporter,
  registerOnnxExporter,
  unregisterOnnxExporter,
  type OnnxLayerExporter,
} from '../src/index.js';
import { expectNoLeaks } from '@flowseg/core/testing';
import { randn, relativeError, session } from './support.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** A layer from "another package": `y = sigmoid(x·W + b) * scale`. */
class ScaledGate extends FlowSegLayer {
  static readonly className = 'TestScaledGate';
  private proj!: Linear;
  constructor(readonly dim: number, readonly scale: number) {
    super({});
  }
  override build(): void {
    if (this.built) return;
    this.proj = this.addChild('proj', new Linear({ inFeatures: this.dim, outFeatures: this.dim, seed: 11 }));
    this.proj.ensureBuilt();
    super.build([]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    this.ensureBuilt();
    return tf.tidy(() => tf.mul(tf.sigmoid(this.proj.forward(x)), this.scale));
  }
}
class LoudGate extends ScaledGate {}

const gateExporter: OnnxLayerExporter<ScaledGate> = {
  signature: (l) => ({
    inputs: [{ name: 'x', dtypes: ['float32'], dims: ['batch', l.dim] }],
    outputs: [{ name: 'output', dtype: 'float32' }],
  }),
  emit: (l, { x }, ctx) => ({
    output: ctx.op('Mul', [ctx.op('Sigmoid', [ctx.linear(l, 'proj', x!)]), ctx.scalar(l.scale)], {}, 'gated'),
  }),
};

describe('exporter registry', () => {
  it('a layer without an exporter is refused with a hint to register one', () => {
    const gate = new ScaledGate(3, 2);
    expect(() => exportOnnx(gate)).toThrow(/no ONNX exporter is registered for TestScaledGate.*registerOnnxExporter/);
  });

  it('registered exporters export other packages’ layers; subclasses inherit; unregister removes', async () => {
    expect(registerOnnxExporter(ScaledGate, gateExporter)).toBeUndefined();
    try {
      const gate = new LoudGate(4, 3);
      expect(findOnnxExporter(gate)).toBe(gateExporter);
      const s = await session(exportOnnx(gate));
      const x = randn([5, 4], 1);
      const { output } = await s.run({ x });
      const ref = gate.forward(x);
      expect(relativeError(output!, ref)).toBeLessThan(1e-4);
      const names = exportOnnxGraph(gate).toModelProto().graph.initializers.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['proj.kernel', 'proj.bias']));
      tf.dispose([x, output!, ref]);
      await s.release();
      gate.dispose();
    } finally {
      expect(unregisterOnnxExporter(ScaledGate)).toBe(true);
    }
    expect(findOnnxExporter(new ScaledGate(2, 1))).toBeUndefined();
  });

  it('registering again replaces and returns the previous exporter', () => {
    const custom: OnnxLayerExporter<Linear> = { ...linearExporter };
    expect(registerOnnxExporter(Linear, custom)).toBe(linearExporter);
    expect(findOnnxExporter(new Linear({ inFeatures: 1, outFeatures: 1 }))).toBe(custom);
    expect(registerOnnxExporter(Linear, linearExporter)).toBe(custom);
  });
});

describe('exportOnnx input validation', () => {
  const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, seed: 1 });

  it('unknown port, port listed twice, unknown output', () => {
    expect(() => exportOnnx(layer, { inputs: ['query', 'key', 'value', 'mask'] })).toThrow(/no input "mask" \(inputs: query, key, value/);
    expect(() => exportOnnx(layer, { inputs: ['query', 'query', 'key', 'value'] })).toThrow(/listed twice/);
    expect(() => exportOnnx(layer, { outputs: ['attention'] })).toThrow(/no output "attention"/);
  });

  it('missing required port', () => {
    expect(() => exportOnnx(layer, { inputs: ['query', 'key'] })).toThrow(/needs input "value"/);
  });

  it('dtype not accepted by the port', () => {
    expect(() => exportOnnx(layer, { inputs: ['query', 'key', 'value', { name: 'keyPaddingMask', dtype: 'float32' }] })).toThrow(DTypeError);
  });

  it('a config-fixed axis must keep its size; rank must match; axes must be sizes or names', () => {
    expect(() => exportOnnx(layer, { inputs: [{ name: 'query', dims: ['batch', 'queries', 6] }, 'key', 'value'] })).toThrow(
      /axis 2 is fixed to 8 by the layer's config, received 6/,
    );
    expect(() => exportOnnx(layer, { inputs: [{ name: 'query', dims: ['queries', 8] }, 'key', 'value'] })).toThrow(/expected \[batch, queries, 8\]/);
    expect(() => exportOnnx(layer, { inputs: [{ name: 'query', dims: ['batch', -1, 8] }, 'key', 'value'] })).toThrow(ValueError);
    // Fixing a symbolic axis is fine.
    expect(exportOnnx(layer, { inputs: [{ name: 'query', dims: [1, 200, 8] }, 'key', 'value'] }).length).toBeGreaterThan(0);
  });

  it('[..., features] ports accept any rank but check the last axis', () => {
    const lin = new Linear({ inFeatures: 3, outFeatures: 2 });
    expect(() => exportOnnx(lin, { inputs: [{ name: 'x', dims: ['n', 4] }] })).toThrow(/axis 1 is fixed to 3/);
    expect(() => exportOnnx(lin, { inputs: [{ name: 'x', dims: [] }] })).toThrow(/expected \[\.\.\., 3\]/);
  });

  it('ports sharing a graph input must agree on type and shape', () => {
    expect(() =>
      exportOnnx(layer, { inputs: [{ name: 'query', graphName: 'x' }, { name: 'key', graphName: 'x', dims: ['batch', 'other', 8] }, 'value'] }),
    ).toThrow(/already declared as float32 \[batch, queries, 8\]/);
  });
});

describe('exportOnnx outputs', () => {
  it('renames outputs with graphName; a port named like a graph input becomes <name>_out', async () => {
    const layer = new Linear({ inFeatures: 3, outFeatures: 2, seed: 5 });
    const renamed = exportOnnxGraph(layer, { outputs: [{ name: 'output', graphName: 'y' }] });
    expect(renamed.outputNames).toEqual(['y']);
    const clash = exportOnnxGraph(layer, { inputs: [{ name: 'x', graphName: 'output' }] });
    expect(clash.inputNames).toEqual(['output']);
    expect(clash.outputNames).toEqual(['output_out']);
    expect(() => exportOnnxGraph(layer, { outputs: [{ name: 'output', graphName: 'x' }] })).toThrow(/already the name of a graph input/);
    const s = await session(renamed.serialize());
    const x = randn([2, 4, 3], 1);
    const { y } = await s.run({ x });
    const ref = layer.forward(x);
    expect(relativeError(y!, ref)).toBeLessThan(1e-5);
    tf.dispose([x, y!, ref]);
    await s.release();
    layer.dispose();
  });
});

describe('exportOnnx', () => {
  it('is leak-free and deterministic (same layer → same bytes)', () => {
    const block = new CrossAttentionBlock({ dim: 8, numHeads: 2, seed: 3 });
    const options = { inputs: ['queries', 'memory', 'attentionMask', 'keyPaddingMask'] };
    const first = expectNoLeaks(() => exportOnnx(block, options), { warmup: true });
    expect(exportOnnx(block, options)).toEqual(first);
    block.dispose();
  });
});

