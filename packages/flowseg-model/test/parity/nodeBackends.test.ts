/**
 * Parity of the assembled model across Node backends: the same checkpoint and inputs through
 * wasm (reference), cpu and WebGPU (Dawn for Node on the SwiftShader Vulkan ICD, or on a real
 * GPU's driver named by `FLOWSEG_TEST_VULKAN_ICD`). Mask logits agree within
 * `LOGIT_ATOL + LOGIT_RTOL·|x|`, selected masks on ≥ 99.5 % of pixels. The input is
 * the scene and answer the browser test uses; a `multi` scene (two `<SEG>` targets) is compared
 * on cpu as well, where it is cheap. Gradients of every weight are compared too, on a three-row
 * batch (a wrong batch stride in one backend's gradient kernel only shows from the second row).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { SMALL_CONFIG, modelFromCheckpoint, type WordTokenizer } from '@flowseg/flowseg-model';
import { parityCheckpoint, loadParityModel, type ParityCheckpoint } from './support/parityCheckpoint.js';
import { parityBatch, type ParityBatch } from './support/parityInputs.js';
import { forwardArrays, type ForwardArrays } from './support/forwardArrays.js';
import { LOGIT_ATOL, LOGIT_RTOL, MIN_PIXEL_AGREEMENT, compareGradients, compareLogits, maskAgreement } from './support/agreement.js';
import { gradientArrays } from './support/gradientArrays.js';
import { NODE_WEBGPU_ICD, nodeWebGpuUnavailable } from './support/nodeWebGpu.js';

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

/** The three-row batch the gradient checks run (multi, attribute, reasoning). */
function gradientBatch(): ParityBatch {
  return parityBatch(tokenizer, [['multi', 1], ['attribute', 3], ['reasoning', 5]], SMALL_CONFIG.languageModel.maxPositions);
}

let wasmGradients: Map<string, Float32Array> | undefined;
/** Every weight's gradient on the active backend; the wasm reference is computed once. */
async function gradients(): Promise<Map<string, Float32Array>> {
  const model = loadParityModel(checkpoint.bytes);
  try {
    return await gradientArrays(model, gradientBatch());
  } finally {
    model.dispose();
  }
}
async function wasmReferenceGradients(): Promise<Map<string, Float32Array>> {
  if (!wasmGradients) {
    await selectBackend('wasm');
    wasmGradients = await gradients();
  }
  return wasmGradients;
}

function expectSameGradients(result: Map<string, Float32Array>, reference: Map<string, Float32Array>, backend: string): void {
  const diff = compareGradients(result, reference);
  console.log(`${backend} vs wasm gradients: ${diff.compared} weights, worst relative difference ${diff.worstRelative.toExponential(2)}`);
  expect(diff.compared).toBeGreaterThan(100);
  expect(diff.outside, `${backend}: weights whose gradient differs from wasm's`).toEqual([]);
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

  it('cpu gradients of every weight agree with wasm on a three-row batch', async () => {
    const reference = await wasmReferenceGradients();
    await selectBackend('cpu');
    expectSameGradients(await gradients(), reference, 'cpu');
  }, 240_000);

  it('Node WebGPU (Dawn; SwiftShader or FLOWSEG_TEST_VULKAN_ICD) agrees with wasm', async (ctx) => {
    const why = nodeWebGpuUnavailable();
    if (why) {
      console.warn(why);
      ctx.skip(why);
    }
    const selection = await selectBackend('webgpu', { vulkanIcd: NODE_WEBGPU_ICD });
    expect(tf.getBackend()).toBe('webgpu');
    console.log(`webgpu adapter: ${selection.device}`);
    expectAgreement(await run(), 'webgpu');
  }, 240_000);

  it('Node WebGPU gradients of every weight agree with wasm on a three-row batch', async (ctx) => {
    const why = nodeWebGpuUnavailable();
    if (why) ctx.skip(why);
    const reference = await wasmReferenceGradients();
    await selectBackend('webgpu', { vulkanIcd: NODE_WEBGPU_ICD });
    expectSameGradients(await gradients(), reference, 'webgpu');
  }, 480_000);
});
