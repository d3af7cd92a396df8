/**
 * GPU memory of repeated segmentations on Node WebGPU (Dawn, SwiftShader Vulkan ICD): 50
 * consecutive `segment()` calls after a warm-up leave `tf.memory()` exactly as it was —
 * tensors, CPU bytes, bytes in use on the GPU and bytes the buffer pool holds.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { generateSample } from '@flowseg/refseg-synth';
import { segment } from '@flowseg/flowseg-model';
import { loadParityModel, parityCheckpoint } from './support/parityCheckpoint.js';
import { NODE_WEBGPU_ICD, nodeWebGpuUnavailable } from './support/nodeWebGpu.js';
import { TINY_CONFIG } from './support/tinyConfig.js';

const RUNS = 50;

/** `tf.memory()` with the webgpu backend's GPU fields. */
interface GpuMemory {
  numTensors: number;
  numDataBuffers: number;
  numBytes: number;
  numBytesInGPU: number;
  numBytesAllocatedInGPU: number;
}

function memory(): GpuMemory {
  const m = tf.memory() as tf.MemoryInfo & Partial<GpuMemory>;
  return {
    numTensors: m.numTensors,
    numDataBuffers: m.numDataBuffers,
    numBytes: m.numBytes,
    numBytesInGPU: m.numBytesInGPU ?? NaN,
    numBytesAllocatedInGPU: m.numBytesAllocatedInGPU ?? NaN,
  };
}

describe('Node WebGPU memory over repeated segmentations', () => {
  it(`${RUNS} consecutive segment() calls do not grow tf.memory(), GPU bytes included`, async (ctx) => {
    const why = nodeWebGpuUnavailable();
    if (why) {
      console.warn(why);
      ctx.skip(why);
    }
    await selectBackend('wasm', { wasmThreads: 1 });
    const { bytes } = await parityCheckpoint(TINY_CONFIG);
    await selectBackend('webgpu', { vulkanIcd: NODE_WEBGPU_ICD });
    const model = loadParityModel(bytes);
    const sample = generateSample('test', 'attribute', 3, { width: 32, height: 32 });
    const image = { rgb: sample.scene.image, width: 32, height: 32 };
    const run = () => segment(model, image, sample.text, { answer: sample.answer, candidates: 'mask' });
    try {
      // Warm-up: the first calls compile shaders and fill the buffer pool.
      for (let i = 0; i < 3; i++) await run();
      const before = memory();
      expect(before.numBytesInGPU).toBeGreaterThan(0);
      let targets = 0;
      for (let i = 0; i < RUNS; i++) targets += (await run()).targets.length;
      const after = memory();
      console.log(`webgpu memory before ${JSON.stringify(before)}, after ${RUNS} runs ${JSON.stringify(after)}`);
      expect(targets).toBe(RUNS * sample.targets.length);
      expect(after).toEqual(before);
    } finally {
      model.dispose();
    }
  }, 280_000);
});
