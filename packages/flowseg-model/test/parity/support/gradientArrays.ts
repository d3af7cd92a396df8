import * as tf from '@tensorflow/tfjs';
import { stageParameters, type FlowSegModel } from '@flowseg/flowseg-model';
import type { ParityBatch } from './parityInputs.js';

/**
 * Gradients of `mean(candidateLogits²) + mean(lmLogits²) + mean(scores²) + mean(classLogits²)`
 * (every output head, no matching, so no synchronous read) w.r.t. every joint-stage weight
 * that receives one, read back asynchronously; keyed by weight path. Leak-free.
 */
export async function gradientArrays(model: FlowSegModel, batch: ParityBatch): Promise<Map<string, Float32Array>> {
  const { height, width } = model.config.image;
  const params = stageParameters(model, 'joint');
  const images = tf.tensor4d(batch.images, [batch.batch, height, width, 3]);
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward({ images, tokenIds: batch.tokenIds, attentionMask: batch.attentionMask });
    return tf.addN([out.candidateLogits, out.lmLogits, out.scores, out.classLogits].map((t) => tf.mean(tf.square(t)))) as tf.Scalar;
  }, [...params.values()]);
  try {
    const named = new Map<string, Float32Array>();
    for (const [name, v] of params) {
      const g = grads[v.name];
      if (g) named.set(name, Float32Array.from((await g.data()) as Float32Array));
    }
    return named;
  } finally {
    tf.dispose([value, images, ...Object.values(grads)]);
  }
}
