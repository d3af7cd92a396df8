/**
 * Parity of the assembled model across Node backends: the same checkpoint and inputs through
 * wasm (reference), cpu and WebGPU (Dawn for Node on the SwiftShader Vulkan ICD). Mask logits
 * agree within `LOGIT_ATOL + LOGIT_RTOL·|x|`, selected masks on ≥ 99.5 % of pixels. The input is
 * the scene and answer the browser test uses; a `multi` scene (two `<SEG>` targets) is compared
 * on cpu as well, where it is cheap.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { SMALL_CONFIG, modelFromCheckpoint, type WordTokenizer } from '@flowseg/flowseg-model';
import { parityCheckpoint, loadParityModel, type ParityCheckpoint } from './support/parityCheckpoint.js';
import { parityBatch, type ParityBatch } from './support/parityInputs.js';
import { forwardArrays, type ForwardArrays } from './support/forwardArrays.js';
import { LOGIT_ATOL, LOGIT_RTOL, MIN_PIXEL_AGREEMENT, compareLogits, maskAgreement } from './support/agreement.js';
import { SWIFTSHADER_ICD, nodeWebGpuUnavailable } from './support/nodeWebGpu.js';

let checkpoint: ParityCheckpoint;
let tokenizer: WordTokenizer;
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
  const m = modelFromCheckpoint(checkpoint.bytes);
  tokenizer = m.tokenizer;
  m.dispose();
  // The scene the browser test segments (test/attribute/3), with its expected answer.
  batch = parityBatch(tokenizer, [['attribute', 3]], SMALL_CONFIG.languageModel.maxPositions);
  reference = await run();
}, 120_000);

describe(`parity of the small checkpoint across Node backends`, () => {
  it('the wasm reference segments the <SEG> target with finite logits', () => {
    expect(reference.targets).toBe(1);
    expect(reference.candidateLogits.length).toBe(reference.targets * SMALL_CONFIG.decoder.numQueries * 32 * 32);
    expect(reference.candidateLogits.every(Number.isFinite)).toBe(true);
    expect(reference.imageLogits.every(Number.isFinite)).toBe(true);
  });

  it('cpu agrees with wasm', async () => {
    await selectBackend('cpu');
    expectAgreement(await run(), 'cpu');
  }, 120_000);

  it('cpu agrees with wasm on a two-target batch with padding', async () => {
    const twoTargets = parityBatch(tokenizer, [['multi', 1], ['attribute', 3]], SMALL_CONFIG.languageModel.maxPositions);
    const runOn = async (backend: 'wasm' | 'cpu'): Promise<ForwardArrays> => {
      await selectBackend(backend);
      const model = loadParityModel(checkpoint.bytes);
      try {
        return await forwardArrays(model, twoTargets.images, twoTargets.batch, twoTargets.tokenIds, twoTargets.attentionMask);
      } finally {
        model.dispose();
      }
    };
    const wasm = await runOn('wasm');
    const cpu = await runOn('cpu');
    expect(wasm.targets).toBeGreaterThanOrEqual(3);
    expect(cpu.targets).toBe(wasm.targets);
    expect(compareLogits(cpu.candidateLogits, wasm.candidateLogits).outside).toBe(0);
    expect(compareLogits(cpu.scores, wasm.scores).outside).toBe(0);
    expect(maskAgreement(cpu.imageLogits, wasm.imageLogits)).toBeGreaterThanOrEqual(MIN_PIXEL_AGREEMENT);
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
