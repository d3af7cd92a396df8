import * as tf from '@tensorflow/tfjs';
import { disposeFlowSegOutputs, type FlowSegModel } from '@flowseg/flowseg-model';

/** What one backend produced, read back asynchronously (the only read WebGPU supports). */
export interface ForwardArrays {
  /** Candidate mask logits after BAR `[targets, queries, maskH, maskW]`, flat. */
  readonly candidateLogits: Float32Array;
  /** Selected mask logits resized to the image `[targets, H, W]`, flat. */
  readonly imageLogits: Float32Array;
  /** Selection scores `[targets, queries]`, flat. */
  readonly scores: Float32Array;
  /** Selected candidate per target. */
  readonly selectedIndex: Int32Array;
  /** Number of targets. */
  readonly targets: number;
}

/** Run `model.forward` on the active backend and read the outputs back; leak-free. */
export async function forwardArrays(
  model: FlowSegModel,
  images: Float32Array,
  batch: number,
  tokenIds: number[][],
  attentionMask?: number[][],
): Promise<ForwardArrays> {
  const { height, width } = model.config.image;
  const input = tf.tensor4d(images, [batch, height, width, 3]);
  try {
    const out = model.forward({ images: input, tokenIds, attentionMask });
    const upsampled = model.upsampleToImage(out.selectedLogits);
    try {
      const [candidateLogits, imageLogits, scores, selectedIndex] = await Promise.all([
        out.candidateLogits.data() as Promise<Float32Array>,
        upsampled.data() as Promise<Float32Array>,
        out.scores.data() as Promise<Float32Array>,
        out.selectedIndex.data() as Promise<Int32Array>,
      ]);
      return {
        candidateLogits: Float32Array.from(candidateLogits),
        imageLogits: Float32Array.from(imageLogits),
        scores: Float32Array.from(scores),
        selectedIndex: Int32Array.from(selectedIndex),
        targets: out.batchIndex.length,
      };
    } finally {
      disposeFlowSegOutputs(out);
      upsampled.dispose();
    }
  } finally {
    input.dispose();
  }
}
