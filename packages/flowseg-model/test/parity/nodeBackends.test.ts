/**
 * Parity of the assembled model across Node backends: the same checkpoint and inputs through
 * wasm (reference), cpu and WebGPU (Dawn for Node on the SwiftShader Vulkan ICD). Mask logits
 * agree within `LOGIT_ATOL + LOGIT_RTOL·|x|`, selected masks on ≥ 99.5 % of pixels.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { SMALL_CONFIG, modelFromCheckpoint } from '@flowseg/flowseg-model';
import { parityCheckpoint, loadParityModel, type ParityCheckpoint } from './support/parityCheckpoint.js';
import { parityBatch, type ParityBatch } from './support/parityInputs.js';
import { forwardArrays, type ForwardArrays } from './support/forwardArrays.js';
import { LOGIT_ATOL, LOGIT_RTOL, MIN_PIXEL_AGREEMENT, compareLogits, maskAgreement } from './support/agreement.js';
import { SWIFTSHADER_ICD, nodeWebGpuUnavailable } from './support/nodeWebGpu.js';

let checkpoint: ParityCheckpoint;
let batch: ParityBatch;
let reference: ForwardArrays;

/** Load the checkpoint on the active backend, run the batch, free the model. */
async function run(): Promise<ForwardArrays> {
  const model = loadParityModel(checkpoint.bytes);
  try {
    return await forwardArrays(model, batch.images, batch.batch, batch.tokenIds, batch.attentionMask);
  } finally {
    model.dispose();
  }
}

function expectAgreement(result: ForwardArrays, backend: string): void {
  expect(result.targets, `${backend}: targets`).toBe(reference.targets);
  const masks = compareLogits(result.candidateLogits, reference.candidateLogits);
  expect(masks.outside, `${backend}: candidate mask logits outside ${LOGIT_ATOL} + ${LOGIT_RTOL}·|x| (max |Δ| ${masks.maxAbsDiff})`).toBe(0);
  const image = compareLogits(result.imageLogits, reference.imageLogits);
  expect(image.outside, `${backend}: selected mask logits at image size (max |Δ| ${image.maxAbsDiff})`).toBe(0);
  const scores = compareLogits(result.scores, reference.scores);
  expect(scores.outside, `${backend}: selection scores (max |Δ| ${scores.maxAbsDiff})`).toBe(0);
  const agreement = maskAgreement(result.imageLogits, reference.imageLogits);
  expect(agreement, `${backend}: selected-mask pixel agreement`).toBeGreaterThanOrEqual(MIN_PIXEL_AGREEMENT);
  console.log(
    `${backend} vs wasm: max |Δ| candidate logits ${masks.maxAbsDiff.toExponential(2)}, ` +
      `selected ${image.maxAbsDiff.toExponential(2)}, scores ${scores.maxAbsDiff.toExponential(2)}; ` +
      `selected masks agree on ${(100 * agreement).toFixed(2)} % of pixels; selected ${[...result.selectedIndex]} vs ${[...reference.selectedIndex]}`,
  );
}

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
  checkpoint = await parityCheckpoint();
  const tokenizer = (() => {
    const m = modelFromCheckpoint(checkpoint.bytes);
    const t = m.tokenizer;
    m.dispose();
    return t;
  })();
  // A `multi` sample: its answer has two `<SEG>` targets, each with its own decoder pass.
  batch = parityBatch(tokenizer, [['multi', 1]], SMALL_CONFIG.languageModel.maxPositions);
  reference = await run();
}, 120_000);

describe(`parity of the small checkpoint across Node backends`, () => {
  it('the wasm reference segments every <SEG> target with finite logits', () => {
    expect(reference.targets).toBeGreaterThanOrEqual(2);
    expect(reference.candidateLogits.length).toBe(reference.targets * SMALL_CONFIG.decoder.numQueries * 32 * 32);
    expect(reference.candidateLogits.every(Number.isFinite)).toBe(true);
    expect(reference.imageLogits.every(Number.isFinite)).toBe(true);
  });

  it('cpu agrees with wasm', async () => {
    await selectBackend('cpu');
    expectAgreement(await run(), 'cpu');
  }, 120_000);

  it('Node WebGPU (Dawn, SwiftShader Vulkan ICD) agrees with wasm', async (ctx) => {
    const why = nodeWebGpuUnavailable();
    if (why) {
      console.warn(why);
      ctx.skip(why);
    }
    const selection = await selectBackend('webgpu', { vulkanIcd: SWIFTSHADER_ICD });
    expect(tf.getBackend()).toBe('webgpu');
    console.log(`webgpu adapter: ${selection.device}`);
    expectAgreement(await run(), 'webgpu');
  }, 240_000);
});
