import * as tf from '@tensorflow/tfjs';

type SyncRead = 'dataSync' | 'arraySync' | 'bufferSync';

/**
 * Run `fn` with the tensor-level synchronous reads throwing, as webgpu in Node refuses them
 * (kernels keep their own access to data), and count how many were attempted.
 */
export async function withSyncReadsRefused<T>(fn: () => Promise<T>): Promise<{ result: T; refused: number }> {
  const proto = tf.Tensor.prototype as unknown as Record<SyncRead, unknown>;
  const saved = { dataSync: proto.dataSync, arraySync: proto.arraySync, bufferSync: proto.bufferSync };
  let refused = 0;
  for (const name of Object.keys(saved) as SyncRead[]) {
    proto[name] = () => {
      refused++;
      throw new Error(`${name} refused by the test`);
    };
  }
  try {
    return { result: await fn(), refused };
  } finally {
    Object.assign(proto, saved);
  }
}
