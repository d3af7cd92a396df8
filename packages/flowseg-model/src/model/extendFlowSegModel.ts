import { ValueError, getLayerWeights, setLayerWeights } from '@flowseg/core';
import * as tf from '@tensorflow/tfjs';
import type { FlowSegConfigOverrides } from '../config/flowSegConfig.js';
import { resolveFlowSegConfig } from '../config/resolveFlowSegConfig.js';
import { FlowSegModel } from './FlowSegModel.js';

/** A model made by {@link extendFlowSegModel}, with the names of the weights it starts fresh. */
export interface ExtendedFlowSegModel {
  /** The copy (the caller owns it). */
  readonly model: FlowSegModel;
  /** Weights of the copy that the original did not have (initialized, not copied). */
  readonly added: readonly string[];
}

/**
 * A copy of a trained model with config `overrides` that only add components — e.g.
 * `{ selection: { regionCropSize: 16 } }` (a `CandidateRegionEncoder`) or
 * `{ adapter: { lexicalSkip: true } }` (a `LexicalSkip`) or `{ languageModel: { copyHeadDim: 32 } }`
 * (a `CopyHead`) or `{ languageModel: { numLayers: 3 } }` (more language-model blocks, appended
 * after the existing ones) — every existing weight copied by name. The extensions start at zero
 * (a zero gate, a zero matrix, a zero copy strength; an appended block's attention output and
 * second feed-forward projections, so the pre-norm block adds 0 to its input), so the copy's
 * outputs equal the original's until it is trained. The original is left as it was (the caller
 * still owns it).
 *
 * @throws ValueError when the overrides would drop or reshape an existing weight (e.g. a
 *   different decoder width) or are invalid.
 */
export function extendFlowSegModel(model: FlowSegModel, overrides: FlowSegConfigOverrides): ExtendedFlowSegModel {
  if (!(model instanceof FlowSegModel)) throw new ValueError('model: expected a FlowSegModel', 'model');
  const config = resolveFlowSegConfig(overrides, model.config);
  const copy = new FlowSegModel({ config, tokenizer: model.tokenizer, name: model.name });
  const weights = getLayerWeights(model);
  try {
    const { missing, unexpected } = setLayerWeights(copy, weights, { strict: false });
    if (unexpected.length > 0) {
      throw new ValueError(`overrides: the copy would lose weights of the original: ${unexpected.join(', ')}`, 'overrides');
    }
    zeroAppendedBlockOutputs(copy, missing);
    return { model: copy, added: missing };
  } catch (e) {
    copy.dispose();
    throw e instanceof ValueError ? e : new ValueError(`overrides: the original's weights do not fit the copy: ${(e as Error).message}`, 'overrides');
  } finally {
    tf.dispose([...weights.values()]);
  }
}

/** The residual-branch outputs of appended language-model blocks (`x + attn(LN₁x)`, `x + mlp(LN₂x)`). */
const APPENDED_BLOCK_OUTPUT = /^language_model\.layers\.\d+\.(self_attn\.out_proj|mlp\.linear2)\./;

/** Zero the output projections of appended blocks, so each starts as the identity. */
function zeroAppendedBlockOutputs(copy: FlowSegModel, added: readonly string[]): void {
  const variables = copy.namedWeights();
  for (const name of added.filter((n) => APPENDED_BLOCK_OUTPUT.test(n))) {
    const variable = variables.get(name)!;
    const zeros = tf.zeros(variable.shape as number[]);
    variable.write(zeros);
    zeros.dispose();
  }
}
