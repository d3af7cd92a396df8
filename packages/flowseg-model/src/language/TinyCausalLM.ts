import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, LayerNorm, Linear, ValueError, checkShapes, deriveSeed, requireInt, requirePositiveInt } from '@flowseg/core';
import type {
  ConditionLanguageModel,
  LanguageModelInputs,
  LanguageModelOutputs,
} from './ConditionLanguageModel.js';
import { Embedding } from './Embedding.js';
import { PreNormTransformerBlock } from './PreNormTransformerBlock.js';
import { CopyHead } from './CopyHead.js';
import { causalMask } from './causalMask.js';
import { nextTokenCrossEntropy } from './nextTokenLoss.js';
import { greedyGenerate, greedyGenerateAsync, type GenerateOptions } from './greedyGenerate.js';

/** Configuration of {@link TinyCausalLM}. */
export interface TinyCausalLMConfig {
  /** Vocabulary size (e.g. `WordTokenizer.vocabSize`). */
  vocabSize: number;
  /** Width of token states, `D_llm` (default 128). */
  hiddenSize?: number;
  /** Number of Transformer blocks (default 2). */
  numLayers?: number;
  /** Attention heads (default 4; must divide `hiddenSize`). */
  numHeads?: number;
  /** Hidden width of each block's feed-forward network (default `2·hiddenSize`). */
  ffnSize?: number;
  /** Longest sequence, image tokens + text tokens (default 128). */
  maxPositions?: number;
  /** Share the token embedding with the output head (default true, as in Qwen3-0.6B). */
  tieEmbeddings?: boolean;
  /**
   * Width of a {@link CopyHead}'s attention (absent: no copy head). The head adds a copy bonus
   * to the logits that starts at 0, so adding it to a trained model changes nothing until trained.
   */
  copyHeadDim?: number;
  /**
   * Seed of every weight's init (default 0). Children get `deriveSeed(seed, i)`: i = 0
   * `embed_tokens`, 1 `embed_positions`, 2 `lm_head`, 3 + k `layers.<k>`, 1000 `copy_head`.
   */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link TinyCausalLM.nextTokenLoss}. */
export interface LanguageModelLossInputs extends LanguageModelInputs {
  /**
   * Targets `[batch, tokens]` (float32 weights or int32/bool 0/1): 1 marks the tokens to
   * predict (the answer and its `<eos>`). Multiplied by `attentionMask` when that is given.
   */
  readonly lossMask: tf.Tensor2D;
}

/**
 * A small decoder-only Transformer, FlowSeg's built-in {@link ConditionLanguageModel}
 * (the paper uses Qwen-3), trainable from scratch on a CPU.
 *
 * `h⁰ = [imageTokens ; E[tokenIds]] + P[positions]`, then `numLayers` pre-norm blocks with
 * causal self-attention (image tokens are a causal prefix too, as in Qwen-VL), then a final
 * LayerNorm; logits `= h·Eᵀ` (tied) or `lm_head(h)`, plus a {@link CopyHead}'s bonus with
 * `copyHeadDim`. Learned absolute positions `P`: with an
 * `attentionMask`, a text token's position is `imageTokens + (real text tokens before it)`,
 * so left-padded rows behave exactly like unpadded ones.
 *
 * Weights (checkpoint names): `embed_tokens.weight`, `embed_positions.weight`,
 * `layers.<i>.{input_layernorm, self_attn.{q,k,v,out}_proj, post_attention_layernorm, mlp.linear{1,2}}`,
 * `norm`, `lm_head` when untied, and `copy_head.*` with `copyHeadDim`.
 *
 * @example
 * ```ts
 * const lm = new TinyCausalLM({ vocabSize: tokenizer.vocabSize, seed: 1 });
 * const { hiddenStates, logits } = lm.forward({ imageTokens, tokenIds, attentionMask });
 * const answer = lm.generate(imageTokens, promptIds, { maxNewTokens: 16, eosId: tokenizer.eosId });
 * // On webgpu in Node (no synchronous reads): the same ids.
 * const sameAnswer = await lm.generateAsync(imageTokens, promptIds, { maxNewTokens: 16, eosId: tokenizer.eosId });
 * ```
 */
export class TinyCausalLM extends FlowSegLayer implements ConditionLanguageModel {
  /** @internal */
  static readonly className = 'FlowSegTinyCausalLM';
  /** Vocabulary size. */
  readonly vocabSize: number;
  /** Width of token states (`D_llm`). */
  readonly hiddenSize: number;
  /** Number of Transformer blocks. */
  readonly numLayers: number;
  /** Attention heads. */
  readonly numHeads: number;
  /** Hidden width of the feed-forward networks. */
  readonly ffnSize: number;
  /** Longest sequence (image + text tokens). */
  readonly maxPositions: number;
  /** Whether the output head reuses the token embedding. */
  readonly tieEmbeddings: boolean;
  /** Width of the copy head's attention, or `null` without a copy head. */
  readonly copyHeadDim: number | null;
  /** Seed of the init. */
  readonly seed: number;
  private copyHead: CopyHead | null = null;
  private tokenEmbedding!: Embedding;
  private positionEmbedding!: Embedding;
  private blocks: PreNormTransformerBlock[] = [];
  private finalNorm!: LayerNorm;
  private lmHead: Linear | null = null;

  constructor(config: TinyCausalLMConfig) {
    super({ name: config.name });
    const hiddenSize = config.hiddenSize ?? 128;
    const resolved = {
      vocabSize: config.vocabSize,
      hiddenSize,
      numLayers: config.numLayers ?? 2,
      numHeads: config.numHeads ?? 4,
      ffnSize: config.ffnSize ?? 2 * hiddenSize,
      maxPositions: config.maxPositions ?? 128,
    };
    for (const [k, v] of Object.entries(resolved)) requirePositiveInt(v, k);
    if (hiddenSize % resolved.numHeads !== 0) {
      throw new ValueError(`numHeads: ${resolved.numHeads} does not divide hiddenSize=${hiddenSize}`, 'numHeads');
    }
    const seed = requireInt(config.seed ?? 0, 'seed');
    this.vocabSize = resolved.vocabSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = resolved.numLayers;
    this.numHeads = resolved.numHeads;
    this.ffnSize = resolved.ffnSize;
    this.maxPositions = resolved.maxPositions;
    this.tieEmbeddings = config.tieEmbeddings ?? true;
    this.copyHeadDim = config.copyHeadDim === undefined ? null : requirePositiveInt(config.copyHeadDim, 'copyHeadDim');
    this.seed = seed;
    // Built on construction, so `trainableWeights` and optimizers see every weight at once.
    this.ensureBuilt();
  }

  override build(): void {
    if (this.built) return;
    const d = this.hiddenSize;
    this.tokenEmbedding = this.addChild(
      'embed_tokens',
      new Embedding({ numEmbeddings: this.vocabSize, dim: d, seed: deriveSeed(this.seed, 0) }),
    );
    this.positionEmbedding = this.addChild(
      'embed_positions',
      new Embedding({ numEmbeddings: this.maxPositions, dim: d, seed: deriveSeed(this.seed, 1) }),
    );
    for (let i = 0; i < this.numLayers; i++) {
      this.blocks.push(
        this.addChild(
          `layers.${i}`,
          new PreNormTransformerBlock({ dim: d, numHeads: this.numHeads, ffnDim: this.ffnSize, seed: deriveSeed(this.seed, 3 + i) }),
        ),
      );
    }
    this.finalNorm = this.addChild('norm', new LayerNorm({ features: d }));
    if (!this.tieEmbeddings) {
      this.lmHead = this.addChild('lm_head', new Linear({ inFeatures: d, outFeatures: this.vocabSize, seed: deriveSeed(this.seed, 2) }));
    }
    if (this.copyHeadDim !== null) {
      this.copyHead = this.addChild(
        'copy_head',
        new CopyHead({ hiddenSize: d, copyDim: this.copyHeadDim, vocabSize: this.vocabSize, seed: deriveSeed(this.seed, 1000) }),
      );
    }
    for (const c of this.children()) (c as FlowSegLayer).ensureBuilt();
    super.build([]);
  }

  /** Hidden states and next-token logits at the text positions (see {@link LanguageModelOutputs}). */
  forward(inputs: LanguageModelInputs): LanguageModelOutputs {
    const dims = this.check(inputs);
    return tf.tidy(() => {
      const hiddenStates = this.run(inputs, dims);
      return { hiddenStates, logits: this.head(hiddenStates, inputs) };
    });
  }

  /** Hidden states `[batch, tokens, hidden]` at the text positions (after the final norm). */
  hiddenStates(inputs: LanguageModelInputs): tf.Tensor3D {
    const dims = this.check(inputs);
    return tf.tidy(() => this.run(inputs, dims));
  }

  /**
   * Input embeddings of text tokens (the `embed_tokens` lookup alone, no positions).
   * @param tokenIds - `[batch, tokens]` int32 ids in `[0, vocabSize)`.
   * @returns `[batch, tokens, hidden]`.
   */
  embedTokens(tokenIds: tf.Tensor2D): tf.Tensor3D {
    return this.tokenEmbedding.forward(tokenIds) as tf.Tensor3D;
  }

  /** Next-token logits `[batch, tokens, vocab]`: row `t` scores the token at `t + 1`. */
  logits(inputs: LanguageModelInputs): tf.Tensor3D {
    const dims = this.check(inputs);
    return tf.tidy(() => this.head(this.run(inputs, dims), inputs));
  }

  /**
   * Masked next-token cross-entropy of the answer tokens (see `nextTokenCrossEntropy`):
   * the language-model term of FlowSeg's training loss. Call it inside an optimizer's
   * `minimize` / `tf.variableGrads` closure.
   * @returns scalar float32 loss.
   */
  nextTokenLoss(inputs: LanguageModelLossInputs): tf.Scalar {
    const dims = this.check(inputs);
    checkShapes(
      { lossMask: { tensor: inputs.lossMask, axes: ['batch', 'tokens'], dtypes: ['float32', 'int32', 'bool'] } },
      { batch: dims.batch, tokens: dims.tokens },
    );
    return tf.tidy(() => {
      const logits = this.head(this.run(inputs, dims), inputs);
      let lossMask = tf.cast(inputs.lossMask, 'float32') as tf.Tensor2D;
      if (inputs.attentionMask) lossMask = tf.mul(lossMask, tf.cast(inputs.attentionMask, 'float32'));
      return nextTokenCrossEntropy({ logits, tokenIds: inputs.tokenIds, lossMask });
    });
  }

  /**
   * Greedy decoding (see `greedyGenerate`: no KV cache, each step re-runs the sequence,
   * O(S²) attention per step).
   * @param imageTokens - image prefix `[batch, imageTokens, hidden]`, or `null`.
   * @param promptIds - prompt `[batch, tokens]` int32, left-padded if rows differ in length.
   * @returns per row, the generated ids (`eosId` last if produced).
   */
  generate(imageTokens: tf.Tensor3D | null, promptIds: tf.Tensor2D, options: GenerateOptions): number[][] {
    return greedyGenerate(this, imageTokens, promptIds, options);
  }

  /**
   * {@link TinyCausalLM.generate} with asynchronous reads (see `greedyGenerateAsync`): the same
   * ids on every backend, including webgpu in Node, which cannot read synchronously.
   * @param imageTokens - image prefix `[batch, imageTokens, hidden]`, or `null`.
   * @param promptIds - prompt `[batch, tokens]` int32, left-padded if rows differ in length.
   * @returns per row, the generated ids (`eosId` last if produced).
   */
  generateAsync(imageTokens: tf.Tensor3D | null, promptIds: tf.Tensor2D, options: GenerateOptions): Promise<number[][]> {
    return greedyGenerateAsync(this, imageTokens, promptIds, options);
  }

  private check(inputs: LanguageModelInputs): { batch: number; tokens: number; images: number } {
    this.ensureBuilt();
    const b = checkShapes(
      {
        imageTokens: {
          tensor: inputs.imageTokens,
          axes: ['batch', 'imageTokens', 'hidden'],
          dtypes: ['float32'],
          optional: true,
        },
        tokenIds: { tensor: inputs.tokenIds, axes: ['batch', 'tokens'], dtypes: ['int32'] },
        attentionMask: {
          tensor: inputs.attentionMask,
          axes: ['batch', 'tokens'],
          dtypes: ['int32', 'bool'],
          optional: true,
        },
      },
      { hidden: this.hiddenSize },
    );
    const dims = { batch: b.batch!, tokens: b.tokens!, images: b.imageTokens ?? 0 };
    if (dims.tokens === 0) throw new ValueError('tokenIds: expected at least one token per row', 'tokenIds');
    if (dims.images + dims.tokens > this.maxPositions) {
      throw new ValueError(
        `tokenIds: ${dims.images} image + ${dims.tokens} text tokens exceed maxPositions=${this.maxPositions}`,
        'tokenIds',
      );
    }
    return dims;
  }

  /** Final-norm hidden states at the text positions `[batch, tokens, hidden]`. */
  private run(inputs: LanguageModelInputs, dims: { batch: number; tokens: number; images: number }): tf.Tensor3D {
    const { batch, tokens, images } = dims;
    const length = images + tokens;
    const d = this.hiddenSize;
    let x = this.tokenEmbedding.forward(inputs.tokenIds) as tf.Tensor3D;
    if (inputs.imageTokens) x = tf.concat([inputs.imageTokens, x], 1);
    let keyPaddingMask: tf.Tensor2D | null = null;
    let positions: tf.Tensor;
    if (inputs.attentionMask) {
      const real = tf.cast(inputs.attentionMask, 'int32');
      // Position of a real text token = images + (real text tokens before it); padding → clamped.
      // (int32 scalars: a JS number would promote the positions to float32.)
      const offset = tf.scalar(images - 1, 'int32');
      const textPos = tf.maximum(tf.add(tf.cumsum(real, 1), offset), tf.scalar(0, 'int32'));
      positions =
        images > 0
          ? tf.concat([tf.tile(tf.reshape(tf.range(0, images, 1, 'int32'), [1, images]), [batch, 1]), textPos], 1)
          : textPos;
      const textPad = tf.logicalNot(tf.cast(real, 'bool'));
      keyPaddingMask = (
        images > 0 ? tf.concat([tf.zeros([batch, images], 'bool'), textPad], 1) : textPad
      ) as tf.Tensor2D;
    } else {
      positions = tf.range(0, length, 1, 'int32');
    }
    x = tf.add(x, this.positionEmbedding.forward(positions));
    const attentionMask = causalMask(length);
    for (const block of this.blocks) x = block.forward({ x, attentionMask, keyPaddingMask });
    x = this.finalNorm.forward(x);
    return (images > 0 ? tf.slice(x, [0, images, 0], [batch, tokens, d]) : x) as tf.Tensor3D;
  }

  /** Logits `[batch, tokens, vocab]` from hidden states (plus the copy bonus with a copy head). */
  private head(hidden: tf.Tensor3D, inputs: LanguageModelInputs): tf.Tensor3D {
    let logits: tf.Tensor3D;
    if (this.lmHead) {
      logits = this.lmHead.forward(hidden);
    } else {
      const [batch, tokens, d] = hidden.shape;
      const flat = tf.matMul(tf.reshape(hidden, [batch * tokens, d]), this.tokenEmbedding.weight, false, true);
      logits = tf.reshape(flat, [batch, tokens, this.vocabSize]);
    }
    if (!this.copyHead) return logits;
    return tf.add(logits, this.copyHead.forward({ hiddenStates: hidden, tokenIds: inputs.tokenIds, attentionMask: inputs.attentionMask }));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const tokenIds = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor2D;
    return this.logits({ tokenIds });
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return [inputShape[0]!, inputShape[1]!, this.vocabSize];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      vocabSize: this.vocabSize,
      hiddenSize: this.hiddenSize,
      numLayers: this.numLayers,
      numHeads: this.numHeads,
      ffnSize: this.ffnSize,
      maxPositions: this.maxPositions,
      tieEmbeddings: this.tieEmbeddings,
      ...(this.copyHeadDim === null ? {} : { copyHeadDim: this.copyHeadDim }),
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(TinyCausalLM);
