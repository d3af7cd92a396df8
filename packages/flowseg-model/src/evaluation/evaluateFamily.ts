import type { Family } from '@flowseg/refseg-synth';
import type { FlowSegModel } from '../model/FlowSegModel.js';
import type { ReferringExample } from '../data/ReferringExample.js';
import { refsegExamples } from '../data/refsegStream.js';
import { evaluateModel, type EvaluateOptions, type EvaluationResult } from './evaluateModel.js';

/**
 * Samples `start … start + count − 1` of one family of a fixed benchmark split, generated at the
 * model's input size, through {@link evaluateModel}; returns the examples with the result (what
 * `flowseg evaluate` and `npm run train` report per family).
 */
export async function evaluateFamily(
  model: FlowSegModel,
  split: 'train' | 'val' | 'test',
  family: Family,
  start: number,
  count: number,
  options: EvaluateOptions = {},
): Promise<{ examples: ReferringExample[]; result: EvaluationResult }> {
  const { width, height } = model.config.image;
  const examples = refsegExamples(split, { [family]: 1 }, start, count, { width, height });
  return { examples, result: await evaluateModel(model, examples, options) };
}
