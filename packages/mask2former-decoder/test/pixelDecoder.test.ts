import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { FpnPixelDecoder, GroupNorm, Conv2d, type PixelDecoderNorm } from '@flowseg/mask2former-decoder';
import { maxAbsDiff } from './helpers.js';
import { torchNearestIndex } from './reference.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

type Map3 = number[][][]; // [h][w][c]

/** Plain-JS FPN reference for batch 1, from the decoder's weights by name. */
function referenceFpn(decoder: FpnPixelDecoder, maps: Map3[]): { features: Map3[]; mask: Map3 } {
  const w = new Map([...decoder.namedWeights()].map(([k, v]) => [k, v.read().arraySync()]));
  const linear = (x: Map3, p: string): Map3 => {
    const k = w.get(`${p}.kernel`) as number[][];
    const b = w.get(`${p}.bias`) as number[] | undefined;
    return x.map((row) => row.map((px) => k[0]!.map((_, o) => px.reduce((s, v, i) => s + v * k[i]![o]!, b ? b[o]! : 0))));
  };
  const conv3 = (x: Map3, p: string): Map3 => {
    const k = w.get(`${p}.kernel`) as number[][][][];
    const b = w.get(`${p}.bias`) as number[] | undefined;
    const [h, wd] = [x.length, x[0]!.length];
    return x.map((row, y) =>
      row.map((_, xx) =>
        k[0]![0]![0]!.map((__, o) => {
          let acc = b ? b[o]! : 0;
          for (let dy = -1; dy <= 1; dy++)
            for (let dx = -1; dx <= 1; dx++) {
              const yy = y + dy;
              const xs = xx + dx;
              if (yy < 0 || yy >= h || xs < 0 || xs >= wd) continue;
              x[yy]![xs]!.forEach((v, i) => (acc += v * k[dy + 1]![dx + 1]![i]![o]!));
            }
          return acc;
        }),
      ),
    );
  };
  const norm = (x: Map3, p: string): Map3 => {
    if (decoder.norm === 'none') return x;
    const g = w.get(`${p}.weight`) as number[];
    const be = w.get(`${p}.bias`) as number[];
    const c = g.length;
    const groups = decoder.norm === 'group' ? decoder.groups : c;
    const size = c / groups;
    const pixels = x.flat();
    const out = pixels.map((px) => px.slice());
    if (decoder.norm === 'layer') {
      pixels.forEach((px, j) => {
        const mean = px.reduce((a, b) => a + b, 0) / c;
        const variance = px.reduce((a, b) => a + (b - mean) ** 2, 0) / c;
        px.forEach((v, i) => (out[j]![i] = ((v - mean) / Math.sqrt(variance + 1e-5)) * g[i]! + be[i]!));
      });
    } else {
      for (let gi = 0; gi < groups; gi++) {
        const vals = pixels.flatMap((px) => px.slice(gi * size, (gi + 1) * size));
        const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
        const variance = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length;
        pixels.forEach((px, j) => {
          for (let i = gi * size; i < (gi + 1) * size; i++) out[j]![i] = ((px[i]! - mean) / Math.sqrt(variance + 1e-5)) * g[i]! + be[i]!;
        });
      }
    }
    const wd = x[0]!.length;
    return x.map((row, y) => row.map((_, xx) => out[y * wd + xx]!));
  };
  const relu = (x: Map3): Map3 => x.map((r) => r.map((px) => px.map((v) => Math.max(v, 0))));
  const add = (a: Map3, b: Map3): Map3 => a.map((r, y) => r.map((px, xx) => px.map((v, i) => v + b[y]![xx]![i]!)));
  const nearest = (x: Map3, h: number, wd: number): Map3 => {
    const iy = torchNearestIndex(h, x.length);
    const ix = torchNearestIndex(wd, x[0]!.length);
    return iy.map((sy) => ix.map((sx) => x[sy]![sx]!.slice()));
  };
  const levels: Map3[] = [];
  let y: Map3 | null = null;
  for (let i = 3; i >= 0; i--) {
    let merged = norm(linear(maps[i]!, `lateral_convs.${i}`), `lateral_norms.${i}`);
    if (y) merged = add(merged, nearest(y, merged.length, merged[0]!.length));
    y = relu(norm(conv3(merged, `output_convs.${i}`), `output_norms.${i}`));
    levels[i] = y;
  }
  return { features: [levels[3]!, levels[2]!, levels[1]!], mask: linear(levels[0]!, 'mask_features') };
}

function backbone(batch: number, sizes: Array<[number, number]>, channels: number[], seed: number): tf.Tensor4D[] {
  return sizes.map(([h, w], i) => tf.randomNormal([batch, h, w, channels[i]!], 0, 1, 'float32', seed + i) as tf.Tensor4D);
}

describe('FpnPixelDecoder', () => {
  // Odd sizes exercise PyTorch's nearest rounding (floor(i·in/out)).
  const sizes: Array<[number, number]> = [
    [9, 7],
    [5, 4],
    [3, 2],
    [2, 1],
  ];
  const channels = [3, 5, 6, 4];

  for (const norm of ['group', 'layer', 'none'] as PixelDecoderNorm[]) {
    it(`matches a plain re-derivation (lateral 1×1, nearest top-down, 3×3, ${norm} norm)`, () => {
      const decoder = new FpnPixelDecoder({ inChannels: channels, convDim: 8, maskDim: 6, norm, groups: 2 });
      const maps = backbone(1, sizes, channels, 3);
      const out = decoder.forward({ backboneFeatures: maps });
      expect(out.features.map((f) => f.shape)).toEqual([
        [1, 2, 1, 8],
        [1, 3, 2, 8],
        [1, 5, 4, 8],
      ]);
      expect(out.maskFeatures.shape).toEqual([1, 9, 7, 6]);
      if (norm !== 'none') {
        // Normalization ends up with non-trivial weights to test their use.
        for (const [k, v] of decoder.namedWeights()) if (/norms.*(weight|bias)$/.test(k)) v.write(tf.randomNormal(v.shape as number[], 0.5, 1, 'float32', k.length));
      }
      const again = decoder.forward({ backboneFeatures: maps });
      const ref = referenceFpn(decoder, maps.map((m) => (m.arraySync() as Map3[])[0]!));
      again.features.forEach((f, i) => expect(maxAbsDiff(f, tf.tensor4d([ref.features[i]!]))).toBeLessThan(1e-4));
      expect(maxAbsDiff(again.maskFeatures, tf.tensor4d([ref.mask]))).toBeLessThan(1e-4);
      tf.dispose([out, again, maps] as unknown as tf.TensorContainer);
    });
  }

  it('trains on wasm: every weight gets a gradient (conv2d filters included)', () => {
    const decoder = new FpnPixelDecoder({ inChannels: channels, convDim: 8, maskDim: 6, groups: 2 });
    const maps = backbone(2, sizes, channels, 5);
    decoder.ensureBuilt();
    const vars = decoder.trainableWeights.map((v) => v.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      const out = decoder.forward({ backboneFeatures: maps });
      return tf.addN([...out.features.map((f) => tf.sum(tf.square(f))), tf.sum(tf.sin(out.maskFeatures))]) as tf.Scalar;
    }, vars);
    for (const v of vars) expect(tf.sum(tf.abs(grads[v.name]!)).dataSync()[0], v.name).toBeGreaterThan(0);
    tf.dispose([value, grads as unknown as tf.TensorContainer, maps]);
  });

  it('is reproducible with a seed', () => {
    const weights = (seed: number) => {
      const d = new FpnPixelDecoder({ inChannels: channels, convDim: 8, maskDim: 6, groups: 2, seed });
      d.ensureBuilt();
      return d.namedWeights();
    };
    const [a, b] = [weights(5), weights(5)];
    for (const [k, v] of a) expect(maxAbsDiff(v.read(), b.get(k)!.read()), k).toBe(0);
    expect(maxAbsDiff(a.get('output_convs.0.kernel')!.read(), weights(6).get('output_convs.0.kernel')!.read())).toBeGreaterThan(0);
  });

  it('is leak-free, serializable and validates', () => {
    const decoder = new FpnPixelDecoder({ inChannels: channels, convDim: 8, maskDim: 6, norm: 'layer' });
    const maps = backbone(2, sizes, channels, 7);
    const out = expectNoLeaks(() => decoder.forward({ backboneFeatures: maps }), { warmup: true });
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap['FlowSegFpnPixelDecoder']!;
    const copy = fromConfig(cls, JSON.parse(JSON.stringify(decoder.getConfig()))) as FpnPixelDecoder;
    copy.ensureBuilt();
    for (const [k, v] of decoder.namedWeights()) copy.namedWeights().get(k)!.write(v.read());
    const out2 = copy.forward({ backboneFeatures: maps });
    expect(maxAbsDiff(out.maskFeatures, out2.maskFeatures)).toBe(0);
    expect(() => decoder.forward({ backboneFeatures: maps.slice(1) })).toThrow(ShapeError);
    expect(() => decoder.forward({ backboneFeatures: [maps[1]!, ...maps.slice(1)] })).toThrow(ShapeError);
    expect(() => new FpnPixelDecoder({ inChannels: [1, 2, 3] })).toThrow(ValueError);
    expect(() => new FpnPixelDecoder({ inChannels: channels, convDim: 10, groups: 4 })).toThrow(expect.objectContaining({ argument: 'groups' }));
    expect(() => new FpnPixelDecoder({ inChannels: channels, norm: 'batch' as never })).toThrow(expect.objectContaining({ argument: 'norm' }));
    expect(() => new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 2 })).toThrow(ValueError);
    const conv3 = new Conv2d({ inChannels: 2, outChannels: 5 });
    expect(conv3.kernelSize).toBe(3);
    expect(conv3.namedWeights().get('kernel')!.shape).toEqual([3, 3, 2, 5]);
    conv3.dispose();
    expect(() => new GroupNorm({ channels: 6, groups: 4 })).toThrow(ValueError);
    expect(decoder.dispose().numDisposedVariables).toBe(decoder.trainableWeights.length);
    tf.dispose([out, out2, maps] as unknown as tf.TensorContainer);
  });
});
