import type { DecoderLayerInputs } from '../decoder/DecoderLayer.js';
import type { TensorSpec } from './checkShapes.js';

/**
 * The {@link checkShapes} specs of {@link DecoderLayerInputs}, so every decoder layer checks
 * the same contract: `queries` and `queryPos` `[batch, queries, channels]`, `memory` and
 * `memoryPos` `[batch, pixels, channels]` (float32), and the optional bool `attentionMask`
 * `[batch, queries, pixels]`. Spread them into the layer's own check, with its width as the
 * `channels` preset.
 *
 * @example
 * ```ts
 * checkShapes({ ...decoderLayerInputSpecs(inputs), extra: { tensor, axes: ['batch', 'channels'] } }, { channels: 256 });
 * ```
 */
export function decoderLayerInputSpecs(inputs: DecoderLayerInputs): Record<string, TensorSpec> {
  return {
    queries: { tensor: inputs.queries, axes: ['batch', 'queries', 'channels'], dtypes: ['float32'] },
    queryPos: { tensor: inputs.queryPos, axes: ['batch', 'queries', 'channels'], dtypes: ['float32'] },
    memory: { tensor: inputs.memory, axes: ['batch', 'pixels', 'channels'], dtypes: ['float32'] },
    memoryPos: { tensor: inputs.memoryPos, axes: ['batch', 'pixels', 'channels'], dtypes: ['float32'] },
    attentionMask: { tensor: inputs.attentionMask, axes: ['batch', 'queries', 'pixels'], dtypes: ['bool'], optional: true },
  };
}
