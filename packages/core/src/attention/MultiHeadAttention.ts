import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer } from '../layers/FlowSegLayer.js';
import { Linear } from '../layers/Linear.js';
import { ValueError } from '../errors/FlowSegError.js';
import { requirePositiveInt, requireRate } from '../errors/requireValue.js';
import { checkShapes } from '../shapes/checkShapes.js';
import { tidy } from '../tensor/tidy.js';
import { deriveSeed } from '../random/deriveSeed.js';
import { attendFewKeys, attendFewQueries } from './headBlockAttention.js';
import { attendFoldedKeys, attendFoldedQueries } from './foldedAttention.js';
import { attentionLayout } from './attentionLayout.js';

/** Configuration of {@link MultiHeadAttention}. */
export interface MultiHeadAttentionConfig {
  /** Width of queries and of the output (`channels`). */
  embedDim: number;
  /** Number of heads; must divide `embedDim`. */
  numHeads: number;
  /** Width of keys (default `embedDim`). */
  keyDim?: number;
  /** Width of values (default `embedDim`). */
  valueDim?: number;
  /** Dropout on attention weights in training (default 0). */
  dropout?: number;
  /**
   * Allow the folded layouts (default true): with few keys or few queries, the long side's
   * projections are folded into the short side (see `AttentionLayout`) — the same attention in
   * fewer FLOPs. `false` keeps every projection where the equation writes it (e.g. to compare
   * the two, or for arithmetic in PyTorch's order).
   */
  foldProjections?: boolean;
  /** Seed for the projections' initializers (default: unseeded). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link MultiHeadAttention.forward}. */
export interface AttentionInputs {
  /** Queries `[batch, queries, channels]`. */
  readonly query: tf.Tensor3D;
  /** Keys `[batch, keys, keyChannels]`. */
  readonly key: tf.Tensor3D;
  /** Values `[batch, keys, valueChannels]`. */
  readonly value: tf.Tensor3D;
  /** Positional embeddings added to `query` before the q projection: `[batch, queries, channels]` (DETR: not to values). */
  readonly queryPos?: tf.Tensor3D | null;
  /** Positional embeddings added to `key` before the k projection: `[batch, keys, keyChannels]`. */
  readonly keyPos?: tf.Tensor3D | null;
  /**
   * Attention mask `[batch | 1, heads | 1, queries, keys]`: bool (`true` = blocked) or
   * float32 (added to the scaled scores).
   */
  readonly attentionMask?: tf.Tensor4D | null;
  /** Key padding mask `[batch, keys]`, bool, `true` = padding (never attended). */
  readonly keyPaddingMask?: tf.Tensor2D | null;
  /** Also return the attention weights. */
  readonly returnWeights?: boolean;
  /** Training mode (attention dropout active). */
  readonly training?: boolean;
}

/** Outputs of {@link MultiHeadAttention.forward}. */
export interface AttentionOutputs {
  /** Attended values after the output projection: `[batch, queries, channels]`. */
  readonly output: tf.Tensor3D;
  /** Attention weights `[batch, heads, queries, keys]` when requested. */
  readonly weights?: tf.Tensor4D;
}

/** Added to blocked scores: finite, so softmax never sees `-inf - -inf`. */
const BLOCKED = -1e9;

/**
 * Multi-head scaled dot-product attention with separate q/k/v/out projections (with bias):
 * `softmax((q·Wq)(k·Wk)ᵀ/√d_head + mask)·(v·Wv)`, heads concatenated, then `·Wo`.
 *
 * Masks: a blocked or padded key gets weight exactly 0. A query row that can see no key at
 * all attends to nothing: its weights are all 0 and its output is the output bias (PyTorch
 * would return NaN there).
 *
 * @example
 * ```ts
 * const mha = new MultiHeadAttention({ embedDim: 256, numHeads: 8 });
 * const { output } = mha.forward({ query: q, key: f, value: f, queryPos, keyPos });
 * ```
 */
export class MultiHeadAttention extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegMultiHeadAttention';
  /** Width of queries and output (`channels`). */
  readonly embedDim: number;
  /** Number of attention heads. */
  readonly numHeads: number;
  /** Width of keys. */
  readonly keyDim: number;
  /** Width of values. */
  readonly valueDim: number;
  /** Attention-weight dropout rate in training. */
  readonly dropout: number;
  /** Whether the folded layouts may be used. */
  readonly foldProjections: boolean;
  /** Width of one head (`embedDim / numHeads`). */
  readonly headDim: number;
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private qProj!: Linear;
  private kProj!: Linear;
  private vProj!: Linear;
  private outProj!: Linear;

  constructor(config: MultiHeadAttentionConfig) {
    super({ name: config.name });
    const { embedDim, numHeads } = config;
    requirePositiveInt(embedDim, 'embedDim');
    if (!Number.isInteger(numHeads) || numHeads <= 0 || embedDim % numHeads !== 0) {
      throw new ValueError(
        `numHeads: expected a positive integer dividing embedDim=${embedDim}, received ${numHeads}`,
        'numHeads',
      );
    }
    const dropout = requireRate(config.dropout ?? 0, 'dropout');
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.keyDim = config.keyDim ?? embedDim;
    this.valueDim = config.valueDim ?? embedDim;
    this.dropout = dropout;
    if (config.foldProjections !== undefined && typeof config.foldProjections !== 'boolean') {
      throw new ValueError(`foldProjections: expected true or false, received ${String(config.foldProjections)}`, 'foldProjections');
    }
    this.foldProjections = config.foldProjections ?? true;
    this.headDim = embedDim / numHeads;
    this.seed = config.seed;
  }

  override build(): void {
    if (this.built) return;
    const d = this.embedDim;
    const seed = (i: number) => deriveSeed(this.seed, i);
    this.qProj = this.addChild('q_proj', new Linear({ inFeatures: d, outFeatures: d, seed: seed(0) }));
    this.kProj = this.addChild('k_proj', new Linear({ inFeatures: this.keyDim, outFeatures: d, seed: seed(1) }));
    this.vProj = this.addChild('v_proj', new Linear({ inFeatures: this.valueDim, outFeatures: d, seed: seed(2) }));
    this.outProj = this.addChild('out_proj', new Linear({ inFeatures: d, outFeatures: d, seed: seed(3) }));
    for (const c of this.children()) (c as Linear).ensureBuilt();
    super.build([]);
  }

  /** Run attention; see {@link AttentionInputs} for shapes. */
  forward(inputs: AttentionInputs): AttentionOutputs {
    this.ensureBuilt();
    const { query, key, value } = inputs;
    const b = checkShapes(
      {
        query: { tensor: query, axes: ['batch', 'queries', 'channels'], dtypes: ['float32'] },
        key: { tensor: key, axes: ['batch', 'keys', 'keyChannels'], dtypes: ['float32'] },
        value: { tensor: value, axes: ['batch', 'keys', 'valueChannels'], dtypes: ['float32'] },
        queryPos: { tensor: inputs.queryPos, axes: ['batch', 'queries', 'channels'], optional: true },
        keyPos: { tensor: inputs.keyPos, axes: ['batch', 'keys', 'keyChannels'], optional: true },
        keyPaddingMask: { tensor: inputs.keyPaddingMask, axes: ['batch', 'keys'], dtypes: ['bool'], optional: true },
      },
      { channels: this.embedDim, keyChannels: this.keyDim, valueChannels: this.valueDim },
    );
    const mask = inputs.attentionMask;
    if (mask) {
      const [mb, mh, mq, mk] = mask.shape;
      const ok =
        mask.rank === 4 &&
        (mb === 1 || mb === b.batch) &&
        (mh === 1 || mh === this.numHeads) &&
        mq === b.queries &&
        mk === b.keys &&
        (mask.dtype === 'bool' || mask.dtype === 'float32');
      if (!ok) {
        throw new ValueError(
          `attentionMask: expected bool or float32 [batch=${b.batch}|1, heads=${this.numHeads}|1, ` +
            `queries=${b.queries}, keys=${b.keys}], received ${mask.dtype} [${mask.shape.join(', ')}]`,
          'attentionMask',
        );
      }
    }
    const batch = b.batch!;
    const nq = b.queries!;
    const nk = b.keys!;
    const h = this.numHeads;
    const dh = this.headDim;
    const training = inputs.training === true && this.dropout > 0;
    // Block and folded layouts: no attention mask (it would need its own re-layout) and no empty axis.
    const layout =
      mask || batch * nq * nk === 0
        ? 'perHead'
        : attentionLayout(nq, nk, h, this.embedDim, { keyDim: this.keyDim, valueDim: this.valueDim, fold: this.foldProjections && !training });
    return tidy(() => {
      const qIn = (inputs.queryPos ? tf.add(query, inputs.queryPos) : query) as tf.Tensor3D;
      const kIn = (inputs.keyPos ? tf.add(key, inputs.keyPos) : key) as tf.Tensor3D;
      const scale = 1 / Math.sqrt(dh); // folded into q (folded layouts: into their per-head column mask)
      // What the block and folded layouts share (the per-head path reads the masks itself).
      const block = () => ({
        padded: inputs.keyPaddingMask ? (tf.cast(inputs.keyPaddingMask, 'float32') as tf.Tensor2D) : null,
        heads: h,
        dropout: training ? this.dropout : 0,
        returnWeights: inputs.returnWeights === true,
        blocked: BLOCKED,
      });
      if (layout === 'foldedKeys') {
        const k = this.kProj.forward(kIn) as tf.Tensor3D;
        const v = this.vProj.forward(value) as tf.Tensor3D;
        return attendFoldedKeys({ ...block(), query: qIn, k, v, scale, qProj: this.qProj, outProj: this.outProj });
      }
      if (layout === 'foldedQueries') {
        const q = this.qProj.forward(qIn) as tf.Tensor3D;
        const r = attendFoldedQueries({ ...block(), q, scale, key: kIn, value, kProj: this.kProj, vProj: this.vProj });
        const output = this.outProj.forward(r.ctx);
        return r.weights ? { output, weights: r.weights } : { output };
      }
      const qFlat = tf.mul(this.qProj.forward(qIn), scale) as tf.Tensor3D;
      const kFlat = this.kProj.forward(kIn) as tf.Tensor3D;
      const vFlat = this.vProj.forward(value) as tf.Tensor3D;
      if (layout !== 'perHead') {
        const attend = layout === 'fewKeys' ? attendFewKeys : attendFewQueries;
        const r = attend({ ...block(), q: qFlat, k: kFlat, v: vFlat });
        const output = this.outProj.forward(r.ctx);
        return r.weights ? { output, weights: r.weights } : { output };
      }
      // [B, N, D] → [B, h, N, dh]
      const q: tf.Tensor4D = tf.transpose(tf.reshape(qFlat, [batch, nq, h, dh]), [0, 2, 1, 3]);
      const k: tf.Tensor4D = tf.transpose(tf.reshape(kFlat, [batch, nk, h, dh]), [0, 2, 1, 3]);
      const v: tf.Tensor4D = tf.transpose(tf.reshape(vFlat, [batch, nk, h, dh]), [0, 2, 1, 3]);
      let scores: tf.Tensor4D = tf.matMul(q, k, false, true);
      let blocked: tf.Tensor | null = null; // [B|1, h|1, Nq|1, Nk] 1 = may not attend
      if (mask) {
        if (mask.dtype === 'bool') {
          blocked = tf.cast(mask, 'float32');
        } else {
          scores = tf.add(scores, mask);
        }
      }
      if (inputs.keyPaddingMask) {
        const padded = tf.cast(tf.reshape(inputs.keyPaddingMask, [batch, 1, 1, nk]), 'float32');
        blocked = blocked ? tf.maximum(blocked, padded) : padded;
      }
      if (!blocked) return this.finish(tf.softmax(scores) as tf.Tensor4D, null, v as tf.Tensor4D, inputs, batch, nq);
      // The bias is built on the mask's (head-broadcast) shape, so only one pass touches the scores.
      scores = tf.add(scores, tf.mul(blocked, BLOCKED));
      // Rows with no visible key: zero weights instead of a uniform spread over blocked keys.
      const rowHasKey = tf.cast(tf.less(tf.min(blocked, -1, true), 1), 'float32'); // [B|1, h|1, Nq|1, 1]
      return this.finish(tf.softmax(scores) as tf.Tensor4D, rowHasKey, v as tf.Tensor4D, inputs, batch, nq);
    });
  }

  /**
   * `ctx = weights · V`, heads merged, output projection. `rowHasKey` (1 where a query row sees
   * some key) zeroes fully blocked rows: applied to `ctx` — `(r ⊙ W) V = r ⊙ (W V)`, and `ctx` is
   * `Nk / d_head` times smaller than the weights — unless the weights are returned.
   */
  private finish(
    weights: tf.Tensor4D,
    rowHasKey: tf.Tensor | null,
    v: tf.Tensor4D,
    inputs: AttentionInputs,
    batch: number,
    nq: number,
  ): AttentionOutputs {
    const returned = rowHasKey && inputs.returnWeights ? (tf.mul(weights, rowHasKey) as tf.Tensor4D) : weights;
    const dropped = inputs.training && this.dropout > 0 ? tf.dropout(returned, this.dropout) : returned;
    let ctx: tf.Tensor = tf.matMul(dropped, v); // [B, h, Nq, dh]
    if (rowHasKey && !inputs.returnWeights) ctx = tf.mul(ctx, rowHasKey);
    const merged = tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [batch, nq, this.embedDim]);
    const output = this.outProj.forward(merged) as tf.Tensor3D;
    return inputs.returnWeights ? { output, weights: returned } : { output };
  }

  /** Symbolic use in `tf.model`: inputs `[query, key, value]`. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [query, key, value] = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor3D[];
    return this.forward({ query: query!, key: key ?? query!, value: value ?? key ?? query! }).output;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const first = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [first[0]!, first[1]!, this.embedDim];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      embedDim: this.embedDim,
      numHeads: this.numHeads,
      keyDim: this.keyDim,
      valueDim: this.valueDim,
      dropout: this.dropout,
      ...(this.foldProjections ? {} : { foldProjections: false }),
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(MultiHeadAttention);
