import * as tf from '@tensorflow/tfjs';
import { ValueError } from '../errors/FlowSegError.js';

/** Result of {@link clipByGlobalNorm}. */
export interface ClippedGradients {
  /** Gradients scaled so that their joint L2 norm is at most `maxNorm` (new tensors). */
  readonly grads: Map<string, tf.Tensor>;
  /** Joint L2 norm before clipping. */
  readonly norm: number;
}

/**
 * Scale all gradients by `min(1, maxNorm / ‖g‖₂)` where `‖g‖₂` is their joint norm
 * (`torch.nn.utils.clip_grad_norm_`). A non-finite norm is returned as is, with the
 * gradients unscaled, so the caller can skip the step.
 */
export function clipByGlobalNorm(
  grads: ReadonlyMap<string, tf.Tensor> | Record<string, tf.Tensor>,
  maxNorm: number,
): ClippedGradients {
  if (!(maxNorm > 0)) throw new ValueError(`maxNorm: expected > 0, received ${maxNorm}`, 'maxNorm');
  const entries = grads instanceof Map ? [...grads.entries()] : Object.entries(grads);
  const norm =
    entries.length === 0
      ? 0
      : tf.tidy(() => Math.sqrt(tf.addN(entries.map(([, g]) => tf.sum(tf.square(g)))).dataSync()[0]!));
  const scale = Number.isFinite(norm) && norm > maxNorm ? maxNorm / norm : 1;
  const out = new Map<string, tf.Tensor>();
  for (const [k, g] of entries) out.set(k, scale === 1 ? tf.clone(g) : tf.tidy(() => tf.mul(g, scale)));
  return { grads: out, norm };
}
