/**
 * Core's fixes for tfjs-backend-webgpu found by the parity suite: synchronous reads in Node fail
 * with an explanation, `backendReadsSynchronously` says where they cannot be used, and
 * CPU-emulated adapters get the matmul program that runs there at a usable speed. Runs on Node
 * WebGPU through Dawn and Chromium's SwiftShader ICD; skipped (with a message) without the ICD.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { FlowSegError, backendReadsSynchronously, selectBackend } from '@flowseg/core';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const missing = existsSync(ICD) ? null : `Node WebGPU tests skipped: ${ICD} is missing (apt-get install -y chromium libvulkan1)`;
if (missing) console.warn(missing);

describe('backendReadsSynchronously', () => {
  it('is true for the CPU backends and false for webgpu', () => {
    expect(backendReadsSynchronously('wasm')).toBe(true);
    expect(backendReadsSynchronously('cpu')).toBe(true);
    expect(backendReadsSynchronously('webgl')).toBe(true);
    expect(backendReadsSynchronously('webgpu')).toBe(false);
  });
});

describe.skipIf(missing !== null)('webgpu in Node (Dawn, SwiftShader)', () => {
  it('a synchronous read of a GPU tensor is a FlowSegError saying to read asynchronously; async reads work', async () => {
    const selection = await selectBackend('webgpu', { vulkanIcd: ICD });
    expect(selection.device).toMatch(/swiftshader/i);
    expect(backendReadsSynchronously()).toBe(false);
    const onGpu = tf.tidy(() => tf.add(tf.ones([4096]), 1)); // large enough to run on the GPU
    try {
      expect(() => onGpu.dataSync()).toThrow(FlowSegError);
      expect(() => onGpu.dataSync()).toThrow(/cannot read a tensor synchronously.*await tensor\.data\(\)/);
      const values = await onGpu.data();
      expect(values.length).toBe(4096);
      expect(values.every((v) => v === 2)).toBe(true);
    } finally {
      onGpu.dispose();
    }
  }, 60_000);

  it('on a CPU-emulated adapter the packed matmul program is chosen, with the results of the reduce program', async () => {
    await selectBackend('webgpu', { vulkanIcd: ICD });
    expect(tf.env().getNumber('WEBGPU_MATMUL_PROGRAM_TYPE')).toBe(3);
    // [5, 7]·[7, 3] with small integers: exact in float32 on every program.
    const a = tf.tensor2d(Array.from({ length: 35 }, (_, i) => (i % 5) - 2), [5, 7]);
    const b = tf.tensor2d(Array.from({ length: 21 }, (_, i) => (i % 4) - 1), [7, 3]);
    const expected: number[] = [];
    const av = a.arraySync() as number[][];
    const bv = b.arraySync() as number[][];
    for (let i = 0; i < 5; i++) for (let j = 0; j < 3; j++) expected.push(av[i]!.reduce((s, x, k) => s + x * bv[k]![j]!, 0));
    const packed = tf.matMul(a, b);
    tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', 0);
    const reduce = tf.matMul(a, b);
    tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', 3);
    try {
      expect(Array.from(await packed.data())).toEqual(expected);
      expect(Array.from(await reduce.data())).toEqual(expected);
    } finally {
      tf.dispose([a, b, packed, reduce]);
    }
  }, 60_000);
});
