import * as tf from '@tensorflow/tfjs';
import { sinePositionEncoding2d } from '@flowseg/core';
import type { Mask2FormerDecoder } from '@flowseg/mask2former-decoder';
import { sigmoid, torchBilinearResize } from './reference.js';

/**
 * A from-scratch re-derivation of Mask2Former's decoder forward (standard layers), written
 * with plain tf ops and the decoder's weights by name, following mask2former_transformer_decoder.py.
 * Used only to check {@link Mask2FormerDecoder.forward}.
 */
export function referenceDecoderForward(
  decoder: Mask2FormerDecoder,
  features: tf.Tensor4D[],
  maskFeatures: tf.Tensor4D,
  queryOffset?: tf.Tensor3D,
): { logits: tf.Tensor3D[]; masks: tf.Tensor4D[]; queries: tf.Tensor3D; blockedFraction: number[] } {
  const w = new Map([...decoder.namedWeights()].map(([k, v]) => [k, v.read()]));
  const get = (k: string) => {
    const t = w.get(k);
    if (!t) throw new Error(`no weight ${k}`);
    return t;
  };
  const { numLayers, numHeads, hiddenDim: d, maskDim } = decoder.config;
  const lin = (x: tf.Tensor, p: string) => {
    const shape = x.shape;
    const y = tf.add(tf.matMul(tf.reshape(x, [-1, shape[shape.length - 1]!]), get(`${p}.kernel`) as tf.Tensor2D), get(`${p}.bias`));
    return tf.reshape(y, [...shape.slice(0, -1), -1]);
  };
  const ln = (x: tf.Tensor, p: string) => {
    const mean = tf.mean(x, -1, true);
    const variance = tf.mean(tf.square(tf.sub(x, mean)), -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), get(`${p}.weight`)), get(`${p}.bias`));
  };
  // softmax((x_q Wq + bq)(x_k Wk + bk)ᵀ/√dh, blocked → −∞) (x_v Wv + bv), heads concatenated, out_proj.
  const attention = (xq: tf.Tensor3D, xk: tf.Tensor3D, xv: tf.Tensor3D, p: string, blocked: boolean[][][] | null) => {
    const [b, nq] = xq.shape;
    const nk = xk.shape[1];
    const dh = d / numHeads;
    const split = (x: tf.Tensor, n: number) => tf.transpose(tf.reshape(x, [b, n, numHeads, dh]), [0, 2, 1, 3]);
    const q = split(lin(xq, `${p}.q_proj`), nq);
    const k = split(lin(xk, `${p}.k_proj`), nk);
    const v = split(lin(xv, `${p}.v_proj`), nk);
    let scores = tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh));
    if (blocked) {
      const bias = tf.tensor4d(blocked.flat(2).map((x) => (x ? -1e30 : 0)), [b, 1, nq, nk]);
      scores = tf.add(scores, bias);
    }
    const ctx = tf.matMul(tf.softmax(scores), v);
    return lin(tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [b, nq, d]), `${p}.out_proj`) as tf.Tensor3D;
  };
  return tf.tidy(() => {
    const batch = maskFeatures.shape[0];
    const [, mh, mw] = maskFeatures.shape;
    const n = decoder.config.numQueries;
    const src = features.map((f, i) => {
      const [, h, wd] = f.shape;
      const proj = w.has(`input_proj.${i}.kernel`) ? lin(f, `input_proj.${i}`) : f;
      const level = tf.slice(get('level_embed.weight'), [i, 0], [1, d]);
      return {
        memory: tf.add(tf.reshape(proj, [batch, h * wd, d]), level) as tf.Tensor3D,
        pos: tf.tile(tf.expandDims(sinePositionEncoding2d(h, wd, d), 0), [batch, 1, 1]) as tf.Tensor3D,
        h,
        w: wd,
      };
    });
    let q = tf.tile(tf.expandDims(get('query_feat.weight'), 0), [batch, 1, 1]) as tf.Tensor3D;
    if (queryOffset) q = tf.add(q, queryOffset);
    const qPos = tf.tile(tf.expandDims(get('query_embed.weight'), 0), [batch, 1, 1]) as tf.Tensor3D;
    const pix = maskFeatures.arraySync();
    const logits: tf.Tensor3D[] = [];
    const masks: tf.Tensor4D[] = [];
    let normed = q;
    const heads = () => {
      normed = ln(q, 'decoder_norm') as tf.Tensor3D;
      logits.push(lin(normed, 'class_embed') as tf.Tensor3D);
      let e = tf.relu(lin(normed, 'mask_embed.layers.0'));
      e = tf.relu(lin(e, 'mask_embed.layers.1'));
      e = lin(e, 'mask_embed.layers.2');
      // einsum('bqc,bhwc->bqhw') written out in JS.
      const ev = e.arraySync() as number[][][];
      const out = new Float32Array(batch * n * mh * mw);
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < n; i++)
          for (let y = 0; y < mh; y++)
            for (let x = 0; x < mw; x++) {
              let acc = 0;
              for (let c = 0; c < maskDim; c++) acc += ev[b]![i]![c]! * pix[b]![y]![x]![c]!;
              out[((b * n + i) * mh + y) * mw + x] = acc;
            }
      masks.push(tf.tensor4d(out, [batch, n, mh, mw]));
    };
    const attnMask = (level: number): boolean[][][] => {
      const m = masks[masks.length - 1]!.dataSync();
      const { h, w: wd } = src[level]!;
      return Array.from({ length: batch }, (_, b) =>
        Array.from({ length: n }, (_, i) => {
          const off = (b * n + i) * mh * mw;
          const r = Array.from(torchBilinearResize(m.subarray(off, off + mh * mw), mh, mw, h, wd), (v) => sigmoid(v) < 0.5);
          return r.every(Boolean) ? r.map(() => false) : r;
        }),
      );
    };
    const blockedFraction: number[] = [];
    heads();
    for (let l = 0; l < numLayers; l++) {
      const level = l % 3;
      const s = src[level]!;
      const p = `layers.${l}`;
      const blocked = attnMask(level);
      const flat = blocked.flat(2);
      blockedFraction.push(flat.filter(Boolean).length / flat.length);
      q = ln(tf.add(q, attention(tf.add(q, qPos), tf.add(s.memory, s.pos), s.memory, `${p}.cross_attn.multihead_attn`, blocked)), `${p}.cross_attn.norm`) as tf.Tensor3D;
      const qp = tf.add(q, qPos) as tf.Tensor3D;
      q = ln(tf.add(q, attention(qp, qp, q, `${p}.self_attn.self_attn`, null)), `${p}.self_attn.norm`) as tf.Tensor3D;
      const h = tf.relu(lin(q, `${p}.ffn.ffn.linear1`));
      q = ln(tf.add(q, lin(h, `${p}.ffn.ffn.linear2`)), `${p}.ffn.norm`) as tf.Tensor3D;
      heads();
    }
    return { logits, masks, queries: normed, blockedFraction };
  });
}
