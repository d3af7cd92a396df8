import * as tf from '@tensorflow/tfjs';
import type { FlowSegOutputs } from '../model/flowSegTypes.js';

/** Dispose every tensor of a {@link FlowSegOutputs} (deep-supervision predictions included). */
export function disposeFlowSegOutputs(outputs: FlowSegOutputs): void {
  tf.dispose(Object.values(outputs).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
  tf.dispose(outputs.auxOutputs.flatMap((a) => [a.predLogits, a.predMasks]));
}
