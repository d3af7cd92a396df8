import * as tf from '@tensorflow/tfjs';
import { AdamW, clipByGlobalNorm } from '@flowseg/core';
import type { StageObjective, StageMetrics } from './trainingStages.js';

/** What one optimizer step reports. */
export interface StepReport {
  /** Total loss before the update. */
  readonly loss: number;
  /** Loss parts. */
  readonly metrics: StageMetrics;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Whether the update was skipped (non-finite loss or gradients). */
  readonly skipped: boolean;
}

/**
 * One optimizer step: gradients of `objective.loss` w.r.t. `params`, global-norm clipping,
 * AdamW update at `learningRate`. A non-finite loss or gradient norm skips the update (the
 * step is reported as skipped) instead of corrupting the weights. Leak-free.
 */
export function trainStep(
  objective: StageObjective,
  params: ReadonlyMap<string, tf.Variable>,
  optimizer: AdamW,
  learningRate: number,
  clipNorm: number,
): StepReport {
  const byVariable = new Map<string, string>();
  for (const [name, v] of params) byVariable.set(v.name, name);
  const { value, grads } = tf.variableGrads(objective.loss, [...params.values()]);
  const named = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) named.set(byVariable.get(varName)!, g);
  const loss = value.dataSync()[0]!;
  const clipped = clipByGlobalNorm(named, clipNorm);
  const skipped = !Number.isFinite(loss) || !Number.isFinite(clipped.norm);
  if (!skipped) optimizer.apply(params, clipped.grads, learningRate);
  const metrics = objective.metrics();
  tf.dispose([value, ...Object.values(grads), ...clipped.grads.values()]);
  return { loss, metrics, gradNorm: clipped.norm, skipped };
}
