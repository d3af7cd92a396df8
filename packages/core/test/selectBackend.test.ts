import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, isNode, onBackendStarted, selectBackend, ValueError } from '@flowseg/core';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('selectBackend', () => {
  it("'auto' in Node here picks wasm and says why tensorflow and webgpu were skipped", async () => {
    expect(isNode()).toBe(true);
    const sel = await selectBackend('auto');
    // This machine has neither @tensorflow/tfjs-node nor a hardware GPU adapter.
    expect(sel.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(sel.skipped.map((s) => s.backend)).toEqual(['tensorflow', 'webgpu']);
    expect(sel.skipped[0]!.error).toMatch(/@tensorflow\/tfjs-node/);
    expect(sel.skipped[0]!.error).toMatch(/optional peer/);
    expect(sel.skipped[1]!.error.length).toBeGreaterThan(0);
    for (const s of sel.skipped) expect(sel.reason).toContain(`${s.backend} (${s.error})`);
    expect(sel.reason.startsWith('wasm started; not used:')).toBe(true);
  });

  it('starts a named backend and runs its start hooks', async () => {
    let calls = 0;
    onBackendStarted('cpu', () => calls++);
    const sel = await selectBackend('cpu');
    expect(sel).toMatchObject({ backend: 'cpu', reason: 'cpu was requested', skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
    expect(calls).toBe(1);
    expect((await selectBackend('wasm')).backend).toBe('wasm');
    expect(calls).toBe(1);
  });

  it('unknown names are a ValueError listing the accepted ones', async () => {
    const err = await rejection(selectBackend('tpu' as 'cpu'));
    expect(err).toBeInstanceOf(ValueError);
    expect((err as ValueError).argument).toBe('request');
    expect(err.message).toBe(`request: expected 'auto' or one of ${BACKEND_NAMES.join(', ')}, received "tpu"`);
  });

  it('a named backend that cannot start is a ValueError saying why, and the active backend is kept', async () => {
    await selectBackend('wasm');
    const err = await rejection(selectBackend('webgl'));
    expect(err).toBeInstanceOf(ValueError);
    expect(err.message).toBe('no backend could be started: webgl: WebGL is not available in Node');
    expect(tf.getBackend()).toBe('wasm');
  });
});
