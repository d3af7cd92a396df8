import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, LayerNorm, Linear, ValueError, checkShapes, deriveSeed, requireInt, requirePositiveInt, tidy } from '@flowseg/core';
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
import type { DecodingCache, DecodingStep, IncrementalLanguageModel } from './incrementalDecoding.js';

/** Sizes of one call's sequence: rows, text tokens and image tokens. */
interface SequenceDims {
  readonly batch: number;
  readonly tokens: number;
  readonly images: number;
}

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
export class TinyCausalLM extends FlowSegLayer implements IncrementalLanguageModel {
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
   * Greedy decoding (see `greedyGenerate`; with this model's decoding cache, each step runs the
   * new token only).
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

  private check(inputs: LanguageModelInputs): SequenceDims {
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
  private run(inputs: LanguageModelInputs, dims: SequenceDims): tf.Tensor3D {
    const { x: embedded, keyPaddingMask } = this.embed(inputs, dims);
    let x = embedded;
    const attentionMask = causalMask(dims.images + dims.tokens);
    for (const block of this.blocks) x = block.forward({ x, attentionMask, keyPaddingMask });
    return this.textStates(this.finalNorm.forward(x), dims);
  }

  /** The text positions `[batch, tokens, hidden]` of a whole-sequence tensor. */
  private textStates(x: tf.Tensor3D, dims: SequenceDims): tf.Tensor3D {
    const { batch, tokens, images } = dims;
    return (images > 0 ? tf.slice(x, [0, images, 0], [batch, tokens, this.hiddenSize]) : x) as tf.Tensor3D;
  }

  /**
   * The input sequence `[batch, images + tokens, hidden]` (image tokens, then token embeddings, plus
   * positions) and its key padding mask `[batch, images + tokens]` bool (null without an attention mask).
   */
  private embed(inputs: LanguageModelInputs, dims: SequenceDims): { x: tf.Tensor3D; keyPaddingMask: tf.Tensor2D | null } {
    const { batch, tokens, images } = dims;
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
      positions = tf.range(0, images + tokens, 1, 'int32');
    }
    return { x: tf.add(x, this.positionEmbedding.forward(positions)), keyPaddingMask };
  }

  /** Logits `[batch, tokens, vocab]` from hidden states (plus the copy bonus with a copy head). */
  private head(hidden: tf.Tensor3D, inputs: LanguageModelInputs): tf.Tensor3D {
    const logits = this.vocabularyLogits(hidden);
    if (!this.copyHead) return logits;
    return tf.add(logits, this.copyHead.forward({ hiddenStates: hidden, tokenIds: inputs.tokenIds, attentionMask: inputs.attentionMask }));
  }

  /** The output head alone (no copy bonus): `h·Eᵀ` tied, else `lm_head(h)`; `[batch, tokens, vocab]`. */
  private vocabularyLogits(hidden: tf.Tensor3D): tf.Tensor3D {
    if (this.lmHead) return this.lmHead.forward(hidden);
    const [batch, tokens, d] = hidden.shape;
    const flat = tf.matMul(tf.reshape(hidden, [batch * tokens, d]), this.tokenEmbedding.weight, false, true);
    return tf.reshape(flat, [batch, tokens, this.vocabSize]);
  }

  /**
   * Next-token logits of the last text position `[batch, vocab]`: the output head on that row only,
   * plus, with a copy head, its bonus (which attends over every earlier text state).
   */
  private lastLogits(textStates: tf.Tensor3D, tokenIds: tf.Tensor2D, attentionMask: tf.Tensor2D | null): tf.Tensor2D {
    const [batch, tokens, d] = textStates.shape;
    const last = tf.slice(textStates, [0, tokens - 1, 0], [batch, 1, d]);
    const logits = tf.reshape(this.vocabularyLogits(last), [batch, this.vocabSize]) as tf.Tensor2D;
    if (!this.copyHead) return logits;
    const bonus = this.copyHead.forward({ hiddenStates: textStates, tokenIds, attentionMask });
    return tf.add(logits, tf.reshape(tf.slice(bonus, [0, tokens - 1, 0], [batch, 1, this.vocabSize]), [batch, this.vocabSize]));
  }

  /**
   * Incremental decoding, step one: the prompt (`inputs` as for {@link TinyCausalLM.logits}) in one
   * pass, keeping each block's normed inputs so that {@link TinyCausalLM.continueDecoding} runs the
   * new token only (its keys and values are re-projected from the kept rows: plain 2-D products).
   * @returns the last position's logits `[batch, vocab]` and the cache (caller disposes both).
   */
  startDecoding(inputs: LanguageModelInputs): DecodingStep {
    const dims = this.check(inputs);
    const { batch, tokens, images } = dims;
    const state = tidy(() => {
      const { x: embedded, keyPaddingMask } = this.embed(inputs, dims);
      const attentionMask = causalMask(images + tokens);
      let x = embedded;
      const normed = this.blocks.map((block) => {
        const step = block.forwardIncremental({ x, past: null, attentionMask, keyPaddingMask });
        x = step.output;
        return step.keys;
      });
      const textStates = this.textStates(this.finalNorm.forward(x), dims);
      const mask = inputs.attentionMask ? (tf.cast(inputs.attentionMask, 'int32') as tf.Tensor2D) : null;
      const realTokens = mask ? tf.sum(mask, 1) : tf.fill([batch], tokens, 'int32');
      return {
        logits: this.lastLogits(textStates, inputs.tokenIds, mask),
        tensors: {
          normed,
          textStates,
          tokenIds: tf.clone(inputs.tokenIds),
          attentionMask: mask,
          keyPaddingMask,
          nextPositions: tf.add(realTokens, tf.scalar(images, 'int32')) as tf.Tensor1D,
        },
      };
    });
    return { logits: state.logits, cache: new TinyDecodingCache(this, images + tokens, state.tensors) };
  }

  /**
   * Incremental decoding, one more token per row (see {@link TinyCausalLM.startDecoding}): the
   * returned logits equal, up to float rounding, the last row of `logits()` over the whole sequence.
   * @param cache - from this model's `startDecoding` / `continueDecoding` (left as it is).
   * @param tokenIds - the next token of every row `[batch, 1]` int32.
   * @returns the new last position's logits `[batch, vocab]` and a new cache (caller disposes both).
   */
  continueDecoding(cache: DecodingCache, tokenIds: tf.Tensor2D): DecodingStep {
    if (!(cache instanceof TinyDecodingCache) || cache.model !== this) {
      throw new ValueError("cache: expected a cache from this model's startDecoding or continueDecoding", 'cache');
    }
    const t = cache.live();
    const batch = t.tokenIds.shape[0];
    checkShapes({ tokenIds: { tensor: tokenIds, axes: ['batch', 1], dtypes: ['int32'] } }, { batch });
    if (cache.length + 1 > this.maxPositions) {
      throw new ValueError(`tokenIds: a token after ${cache.length} positions exceeds maxPositions=${this.maxPositions}`, 'tokenIds');
    }
    const state = tidy(() => {
      let x = tf.add(this.tokenEmbedding.forward(tokenIds), this.positionEmbedding.forward(tf.expandDims(t.nextPositions, 1))) as tf.Tensor3D;
      const keyPaddingMask = t.keyPaddingMask ? (tf.concat([t.keyPaddingMask, tf.zeros([batch, 1], 'bool')], 1) as tf.Tensor2D) : null;
      // The new row is last, so it may attend to every kept row: no causal mask.
      const normed = this.blocks.map((block, i) => {
        const step = block.forwardIncremental({ x, past: t.normed[i]!, keyPaddingMask });
        x = step.output;
        return step.keys;
      });
      const textStates = tf.concat([t.textStates, this.finalNorm.forward(x)], 1) as tf.Tensor3D;
      const allIds = tf.concat([t.tokenIds, tokenIds], 1) as tf.Tensor2D;
      const mask = t.attentionMask ? (tf.concat([t.attentionMask, tf.ones([batch, 1], 'int32')], 1) as tf.Tensor2D) : null;
      return {
        logits: this.lastLogits(textStates, allIds, mask),
        tensors: {
          normed,
          textStates,
          tokenIds: allIds,
          attentionMask: mask,
          keyPaddingMask,
          nextPositions: tf.add(t.nextPositions, tf.scalar(1, 'int32')) as tf.Tensor1D,
        },
      };
    });
    return { logits: state.logits, cache: new TinyDecodingCache(this, cache.length + 1, state.tensors) };
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

/** What {@link TinyDecodingCache} holds. */
interface TinyCacheTensors {
  /** Per block, `LN₁(x)` at every position so far `[batch, positions, hidden]` (its keys and values are projected from these). */
  readonly normed: tf.Tensor3D[];
  /** Final-norm states at the text positions so far `[batch, tokens, hidden]` (the copy head reads them). */
  readonly textStates: tf.Tensor3D;
  /** Text ids so far `[batch, tokens]` int32. */
  readonly tokenIds: tf.Tensor2D;
  /** Text attention mask so far `[batch, tokens]` int32, or null (all real). */
  readonly attentionMask: tf.Tensor2D | null;
  /** Key padding over every position `[batch, positions]` bool, or null. */
  readonly keyPaddingMask: tf.Tensor2D | null;
  /** Position id of each row's next token `[batch]` int32. */
  readonly nextPositions: tf.Tensor1D;
}

/** {@link TinyCausalLM}'s decoding cache. */
class TinyDecodingCache implements DecodingCache {
  private tensors: TinyCacheTensors | null;

  constructor(
    readonly model: TinyCausalLM,
    readonly length: number,
    tensors: TinyCacheTensors,
  ) {
    this.tensors = tensors;
  }

  /** The tensors, or a typed error once disposed. */
  live(): TinyCacheTensors {
    if (!this.tensors) throw new ValueError('cache: this decoding cache has been disposed', 'cache');
    return this.tensors;
  }

  dispose(): void {
    if (!this.tensors) return;
    const t = this.tensors;
    tf.dispose([...t.normed, t.textStates, t.tokenIds, t.nextPositions, ...(t.attentionMask ? [t.attentionMask] : []), ...(t.keyPaddingMask ? [t.keyPaddingMask] : [])]);
    this.tensors = null;
  }
}
