import * as tf from '@tensorflow/tfjs';
import type { FlowSegModel } from '../model/FlowSegModel.js';
import type { ReferringExample } from '../data/ReferringExample.js';
import { imageBatch } from '../data/imageBatch.js';
import { sequenceBatch } from '../data/sequenceBatch.js';

/**
 * Median forward latency (ms per sample) of `model.forward` on teacher-forced `examples`
 * (one batch), after one warm-up call. Leak-free.
 */
export async function measureForwardLatency(model: FlowSegModel, examples: readonly ReferringExample[], repeats = 5): Promise<number> {
  const images = imageBatch(examples);
  const maxTokens = model.config.languageModel.maxPositions - model.numPrefixTokens;
  const seq = sequenceBatch(model.tokenizer, examples, maxTokens);
  const once = async () => {
    const t0 = performance.now();
    const out = model.forward({ images, tokenIds: seq.ids, attentionMask: seq.attentionMask, auxOutputs: false });
    await out.selectedLogits.data();
    const ms = performance.now() - t0;
    tf.dispose(Object.values(out).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
    tf.dispose(out.auxOutputs.flatMap((a) => [a.predLogits, a.predMasks]));
    return ms;
  };
  try {
    await once();
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) times.push(await once());
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]! / examples.length;
  } finally {
    images.dispose();
  }
}
