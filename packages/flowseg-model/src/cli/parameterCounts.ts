import type { FlowSegModel } from '../model/FlowSegModel.js';

/** Parameter counts of a model: per top-level child (`segmentation_encoder`, `decoder`, …) and in total. */
export interface ParameterCounts {
  /** Child name → parameters, in weight order. */
  readonly parts: Readonly<Record<string, number>>;
  /** Sum over every weight. */
  readonly total: number;
}

/** Count a model's parameters by the first component of each weight's dotted name. */
export function parameterCounts(model: FlowSegModel): ParameterCounts {
  const parts: Record<string, number> = {};
  let total = 0;
  for (const [name, v] of model.namedWeights()) {
    const size = v.shape.reduce<number>((a, b) => a * (b ?? 0), 1);
    const part = name.split('.')[0]!;
    parts[part] = (parts[part] ?? 0) + size;
    total += size;
  }
  return { parts, total };
}
