import * as tf from '@tensorflow/tfjs';
import { WeightsError, parseSafetensors } from '@flowseg/core';
import type { Mask2FormerDecoder } from '../decoder/Mask2FormerDecoder.js';
import { huggingFaceKeyMap, type HuggingFaceKeyPrefixes, type HuggingFaceSource } from './huggingFaceKeyMap.js';

/** A PyTorch-style state dict: key → tensor. */
export type StateDict = ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>;

/** Options of {@link loadHuggingFaceDecoderWeights}. */
export interface HuggingFaceLoadOptions extends HuggingFaceKeyPrefixes {
  /**
   * Our weights allowed to stay as they are when the checkpoint has no source for them
   * (e.g. a BSF layer's semantic attention): predicate on our weight name. Default: none.
   */
  readonly allowMissing?: (name: string) => boolean;
}

/** What {@link loadHuggingFaceDecoderWeights} did. */
export interface HuggingFaceLoadReport {
  /** Our weights assigned, in `namedWeights()` order. */
  readonly loaded: readonly string[];
  /** Our weights left unchanged because `allowMissing` accepted them. */
  readonly keptUnloaded: readonly string[];
  /** Checkpoint keys outside the transformer decoder (backbone, pixel decoder, criterion), ignored. */
  readonly ignored: readonly string[];
}

/**
 * The checkpoint does not fit the decoder. Lists every problem by name; nothing was loaded.
 */
export class HuggingFaceWeightsError extends WeightsError {
  /**
   * @param missing - our weights without a source (`ours ← theirs` when the key is absent).
   * @param unexpected - checkpoint keys of the transformer decoder that nothing consumed.
   * @param mismatched - sources with the wrong shape or dtype, with details.
   */
  constructor(
    readonly missing: readonly string[],
    readonly unexpected: readonly string[],
    readonly mismatched: readonly string[],
  ) {
    const lines = [
      ...missing.map((n) => `  missing: ${n}`),
      ...unexpected.map((n) => `  unexpected: ${n}`),
      ...mismatched.map((d) => `  ${d}`),
    ];
    super(`Hugging Face Mask2Former weights: ${lines.length} problem(s), no weight was loaded:\n${lines.join('\n')}`, 'stateDict');
  }
}

function entries(dict: StateDict): Map<string, tf.Tensor> {
  return dict instanceof Map ? new Map(dict) : new Map(Object.entries(dict as Record<string, tf.Tensor>));
}

/** Shape the source must have to produce a weight of shape `target`. */
function expectedSourceShape(source: HuggingFaceSource, target: readonly number[]): number[] {
  const t = source.transform;
  switch (t.kind) {
    case 'copy':
      return [...target];
    case 'linear':
      return [target[1]!, target[0]!];
    case 'conv1x1':
      return [target[1]!, target[0]!, 1, 1];
    case 'inProjWeight':
      return [3 * target[1]!, target[0]!];
    case 'inProjBias':
      return [3 * target[0]!];
  }
}

function convert(source: HuggingFaceSource, tensor: tf.Tensor, target: readonly number[]): tf.Tensor {
  const t = source.transform;
  switch (t.kind) {
    case 'copy':
      return tf.clone(tensor);
    case 'linear':
      return tf.transpose(tensor);
    case 'conv1x1':
      return tf.transpose(tf.reshape(tensor, [target[1]!, target[0]!]));
    case 'inProjWeight': {
      const d = target[1]!;
      return tf.transpose(tf.slice(tensor, [t.part * d, 0], [d, -1]));
    }
    case 'inProjBias': {
      const d = target[0]!;
      return tf.slice(tensor, [t.part * d], [d]);
    }
  }
}

/**
 * Load the transformer decoder of a Hugging Face `Mask2FormerForUniversalSegmentation`
 * checkpoint (as a state dict, e.g. read from `model.safetensors`) into `decoder`. The key
 * mapping is {@link huggingFaceKeyMap}; PyTorch `[out, in]` linear weights are transposed into
 * our `[in, out]` kernels and `nn.MultiheadAttention`'s fused `in_proj_*` is split into q/k/v.
 *
 * Everything is checked before anything is written: our weights without a source (missing),
 * checkpoint keys under the transformer module or class predictor that nothing consumes
 * (unexpected, e.g. a 10th layer) and sources of the wrong shape or dtype (mismatched) are
 * all reported by name in one {@link HuggingFaceWeightsError}. Keys outside those prefixes
 * (backbone, pixel-level module, `criterion.empty_weight`) are ignored and listed.
 *
 * Notes: HF's `config.decoder_layers` counts one more than the layers it builds (10 → 9
 * layers, our `numLayers: 9`). HF keeps `input_projections` in a plain Python list, so its
 * checkpoints carry no input-projection weights: load them only into a decoder whose
 * `featureChannels` equal `hiddenDim` (the released checkpoints' case), or supply the keys.
 * The caller keeps ownership of `stateDict`'s tensors.
 *
 * @throws HuggingFaceWeightsError listing every problem; the decoder is then unchanged.
 */
export function loadHuggingFaceDecoderWeights(
  decoder: Mask2FormerDecoder,
  stateDict: StateDict,
  options: HuggingFaceLoadOptions = {},
): HuggingFaceLoadReport {
  const ours = decoder.namedWeights();
  const dict = entries(stateDict);
  const config = decoder.config;
  const projectedLevels = [...ours.keys()]
    .map((n) => /^input_proj\.(\d+)\.kernel$/.exec(n)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number);
  const map = huggingFaceKeyMap(
    { numLayers: config.numLayers, projectedLevels, maskEmbedLayers: 3 },
    options,
  );
  const modulePrefix = options.modulePrefix ?? 'model.transformer_module.';
  const classPrefix = options.classPredictorPrefix ?? 'class_predictor.';
  const allowMissing = options.allowMissing ?? (() => false);

  const missing: string[] = [];
  const mismatched: string[] = [];
  const keptUnloaded: string[] = [];
  const consumed = new Set<string>();
  const plan: Array<[string, tf.LayerVariable, HuggingFaceSource, tf.Tensor]> = [];
  for (const [name, variable] of ours) {
    const source = map.get(name);
    const tensor = source ? dict.get(source.key) : undefined;
    if (!source || !tensor) {
      if (allowMissing(name)) keptUnloaded.push(name);
      else missing.push(source ? `${name} ← ${source.key}` : `${name} (no Hugging Face counterpart)`);
      continue;
    }
    consumed.add(source.key);
    const want = expectedSourceShape(source, variable.shape as number[]);
    if (tensor.isDisposed) {
      mismatched.push(`disposed: ${source.key}`);
    } else if (tensor.dtype !== 'float32') {
      mismatched.push(`dtype mismatch: ${source.key} (→ ${name}) expected float32, received ${tensor.dtype}`);
    } else if (!tf.util.arraysEqual(tensor.shape, want)) {
      mismatched.push(
        `shape mismatch: ${source.key} (→ ${name}) expected [${want.join(', ')}], received [${tensor.shape.join(', ')}]`,
      );
    } else {
      plan.push([name, variable, source, tensor]);
    }
  }
  const ignored: string[] = [];
  const unexpected: string[] = [];
  for (const key of dict.keys()) {
    if (consumed.has(key)) continue;
    if (key.startsWith(modulePrefix) || key.startsWith(classPrefix)) unexpected.push(key);
    else ignored.push(key);
  }
  if (missing.length > 0 || unexpected.length > 0 || mismatched.length > 0) {
    throw new HuggingFaceWeightsError(missing, unexpected, mismatched);
  }
  for (const [, variable, source, tensor] of plan) {
    const value = tf.tidy(() => convert(source, tensor, variable.shape as number[]));
    variable.write(value);
    value.dispose();
  }
  return { loaded: plan.map(([name]) => name), keptUnloaded, ignored };
}

/**
 * {@link loadHuggingFaceDecoderWeights} straight from the bytes of a Hugging Face
 * `model.safetensors` (read them with `fs.readFile` in Node or `fetch` in a browser). Only the
 * transformer-decoder and class-head tensors are decoded (F32/F16/BF16 become float32), so the
 * backbone's weights cost no tensor memory; they are listed in `ignored`.
 *
 * @throws WeightsError for a corrupt file; {@link HuggingFaceWeightsError} when it does not fit.
 */
export function loadHuggingFaceDecoderSafetensors(
  decoder: Mask2FormerDecoder,
  bytes: Uint8Array | ArrayBuffer,
  options: HuggingFaceLoadOptions = {},
): HuggingFaceLoadReport {
  const file = parseSafetensors(bytes);
  const prefixes = [options.modulePrefix ?? 'model.transformer_module.', options.classPredictorPrefix ?? 'class_predictor.'];
  const inScope = file.names.filter((n) => prefixes.some((p) => n.startsWith(p)));
  const wanted = new Set(inScope);
  const dict = file.tensors(inScope);
  try {
    const report = loadHuggingFaceDecoderWeights(decoder, dict, options);
    return { ...report, ignored: file.names.filter((n) => !wanted.has(n)) };
  } finally {
    tf.dispose([...dict.values()]);
  }
}
