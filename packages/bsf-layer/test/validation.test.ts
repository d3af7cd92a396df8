import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { BSFDecoderLayer, bsfLayerFactory, type BSFDecoderLayerConfig } from '@flowseg/bsf-layer';
import { disposeInputs, makeInputs, makeLayer, SIZES } from './layerFixtures.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const base: BSFDecoderLayerConfig = { hiddenDim: 8, numHeads: 2, ffnDim: 16 };

describe('validation', () => {
  it.each<[string, Partial<BSFDecoderLayerConfig> | Record<string, unknown>]>([
    ['crSource', { crSource: 'queries' }],
    ['semanticRefinement', { semanticRefinement: 'yes' }],
    ['conditionRefinement', { conditionRefinement: 1 }],
    ['gateBiasInit', { gateBiasInit: Number.NaN }],
    ['gateBiasInit', { gateBiasInit: Infinity, semanticRefinement: false }],
    ['ffnDim', { ffnDim: 0 }],
    ['numHeads', { numHeads: 3 }],
    ['dropout', { dropout: 1 }],
  ])('bad %s → ValueError naming it', (argument, patch) => {
    const make = () => new BSFDecoderLayer({ ...base, ...(patch as Partial<BSFDecoderLayerConfig>) });
    expect(make).toThrow(ValueError);
    expect(make).toThrow(new RegExp(argument));
    if (argument !== 'ffnDim' && argument !== 'numHeads' && argument !== 'dropout') {
      expect(() => bsfLayerFactory(patch as never)).toThrow(ValueError);
    }
  });

  it('shape and dtype errors name the argument', () => {
    const layer = makeLayer();
    const x = makeInputs([1, 1], 2);
    const cases: Array<[Partial<typeof x>, RegExp, typeof ShapeError | typeof DTypeError]> = [
      [{ queries: tf.zeros([2, SIZES.N, 4]) as tf.Tensor3D }, /queries/, ShapeError],
      [{ memoryPos: tf.zeros([2, SIZES.P + 1, SIZES.D]) as tf.Tensor3D }, /memoryPos/, ShapeError],
      [{ attentionMask: tf.zeros([2, SIZES.N, SIZES.P]) as tf.Tensor3D }, /attentionMask/, DTypeError],
      [
        { conditions: { conditions: tf.zeros([2, 2, 4]) as tf.Tensor3D, conditionMask: x.conditions.conditionMask } },
        /conditions\.conditions/,
        ShapeError,
      ],
      [
        { conditions: { conditions: x.conditions.conditions, conditionMask: tf.ones([2, 3]) as tf.Tensor2D } },
        /conditions\.conditionMask/,
        ShapeError,
      ],
      [
        { conditions: { conditions: x.conditions.conditions, conditionMask: tf.ones([2, 2], 'int32') as tf.Tensor2D } },
        /conditionMask/,
        DTypeError,
      ],
      [
        { conditions: { conditions: tf.zeros([3, 2, SIZES.D]) as tf.Tensor3D, conditionMask: tf.ones([3, 2]) as tf.Tensor2D } },
        /batch/,
        ShapeError,
      ],
    ];
    for (const [patch, message, kind] of cases) {
      const call = () => layer.forward({ ...x, ...patch });
      expect(call).toThrow(kind);
      expect(call).toThrow(message);
    }
    disposeInputs(x);
  });
});
