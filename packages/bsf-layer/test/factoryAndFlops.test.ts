import { beforeAll, describe, expect, it } from 'vitest';
import { ValueError, selectBackend, type DecoderLayerFactory } from '@flowseg/core';
import { BSFDecoderLayer, bsfLayerFactory, bsfLayerFlops } from '@flowseg/bsf-layer';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('bsfLayerFactory', () => {
  it('builds BSF layers sized by the decoder spec, with the given switches', () => {
    const spec = { index: 3, hiddenDim: 16, numHeads: 4, ffnDim: 32, dropout: 0.1 };
    const factory: DecoderLayerFactory = bsfLayerFactory({ conditionRefinement: false, gateBiasInit: 1 });
    const layer = factory(spec) as BSFDecoderLayer;
    expect(layer).toBeInstanceOf(BSFDecoderLayer);
    expect([layer.hiddenDim, layer.numHeads, layer.ffnDim, layer.dropout]).toEqual([16, 4, 32, 0.1]);
    expect([layer.semanticRefinement, layer.conditionRefinement, layer.gateBiasInit]).toEqual([true, false, 1]);
    const full = bsfLayerFactory()(spec) as BSFDecoderLayer;
    expect([full.semanticRefinement, full.conditionRefinement, full.crSource]).toEqual([true, true, 'ffn']);
    // Each call builds a new layer with its own weights.
    expect(factory(spec)).not.toBe(layer);
  });
});

describe('bsfLayerFlops', () => {
  it('matches a hand count', () => {
    // B=1, N=2, P=3, T=1, D=4, F=8.
    // attention(nq, nk): 4·nq·D² + 4·nk·D² + 4·nq·nk·D
    const cross = 4 * 2 * 16 + 4 * 3 * 16 + 4 * 2 * 3 * 4; // 128 + 192 + 96
    const self = 4 * 2 * 16 + 4 * 2 * 16 + 4 * 2 * 2 * 4; // 128 + 128 + 64
    const ffn = 4 * 2 * 4 * 8; // two [2,4]×[4,8]-sized products
    const sr = 4 * 2 * 16 + 4 * 1 * 16 + 4 * 2 * 1 * 4 + 4 * 2 * 16; // attention + gate [2,8]×[8,4]
    const cr = 4 * 1 * 16 + 4 * 2 * 16 + 4 * 1 * 2 * 4;
    const sizes = { batch: 1, queries: 2, pixels: 3, conditions: 1, hiddenDim: 4, ffnDim: 8 };
    expect(bsfLayerFlops(sizes)).toEqual({
      crossAttention: cross,
      semanticRefinement: sr,
      selfAttention: self,
      ffn,
      conditionRefinement: cr,
      total: cross + sr + self + ffn + cr,
    });
    const base = bsfLayerFlops(sizes, { semanticRefinement: false, conditionRefinement: false });
    expect(base.total).toBe(cross + self + ffn);
    expect(bsfLayerFlops({ ...sizes, batch: 3 }).total).toBe(3 * (cross + sr + self + ffn + cr));
    expect(bsfLayerFlops({ ...sizes, conditions: 0 }).total).toBe(cross + self + ffn);
  });

  it('rejects bad sizes', () => {
    expect(() => bsfLayerFlops({ batch: 1, queries: 0, pixels: 3, conditions: 1, hiddenDim: 4, ffnDim: 8 })).toThrow(ValueError);
    expect(() => bsfLayerFlops({ batch: 1, queries: 2, pixels: 3, conditions: -1, hiddenDim: 4, ffnDim: 8 })).toThrow(/conditions/);
  });
});
