import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { FlowSegError, selectBackend } from '@flowseg/core';
import { segment } from '../../src/index.js';
import { tinyModel } from '../support/tinyFlowSeg.js';

let model: ReturnType<typeof tinyModel>;
beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
  model = tinyModel();
});
afterAll(() => model.dispose());

describe('segment() over hostile images and expressions', () => {
  it('a result with finite scores and 0/1 masks, or a FlowSegError naming image / expression; no leaks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          form: fc.constantFrom('float', 'int', 'bool', 'rgb', 'rgba', 'nan', 'inf', 'over', 'rank2', 'gray', 'empty', 'shortRgb', 'null'),
          h: fc.integer({ min: 1, max: 40 }),
          w: fc.integer({ min: 1, max: 40 }),
          expression: fc.oneof(fc.constantFrom('the red circle', '', '<p> </p> <SEG>', 'x'.repeat(500)), fc.string({ maxLength: 30 })),
        }),
        async ({ form, h, w, expression }) => {
          const owned: tf.Tensor[] = [];
          const t = (x: tf.Tensor) => (owned.push(x), x);
          const image =
            form === 'float' ? t(tf.randomUniform([h, w, 3]))
              : form === 'int' ? t(tf.randomUniform([h, w, 3], 0, 255, 'int32'))
                : form === 'bool' ? t(tf.ones([h, w, 3], 'bool'))
                  : form === 'nan' ? t(tf.fill([h, w, 3], NaN))
                    : form === 'inf' ? t(tf.fill([h, w, 3], Infinity))
                      : form === 'over' ? t(tf.fill([h, w, 3], 255))
                        : form === 'rank2' ? t(tf.zeros([h, w]))
                          : form === 'gray' ? t(tf.zeros([h, w, 1]))
                            : form === 'empty' ? t(tf.zeros([0, w, 3]))
                              : form === 'rgb' ? { rgb: new Uint8Array(h * w * 3), width: w, height: h }
                                : form === 'rgba' ? { data: new Uint8ClampedArray(h * w * 4), width: w, height: h }
                                  : form === 'shortRgb' ? { rgb: new Uint8Array(h * w * 3 - 1), width: w, height: h }
                                    : null;
          const before = tf.memory().numTensors;
          try {
            const result = await segment(model, image as never, expression, { maxNewTokens: 8 });
            for (const target of result.targets) {
              expect(Number.isFinite(target.score)).toBe(true);
              expect(target.mask.data.every((v) => v === 0 || v === 1)).toBe(true);
            }
          } catch (e) {
            expect(e, String(e)).toBeInstanceOf(FlowSegError);
            expect((e as FlowSegError).argument ?? '').toMatch(/^(image|expression|answer)/);
          }
          expect(tf.memory().numTensors).toBe(before);
          tf.dispose(owned);
        },
      ),
      { numRuns: 25, seed: 81 },
    );
  }, 120_000);
});
