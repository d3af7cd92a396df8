import * as tf from '@tensorflow/tfjs';
import { ValueError } from '@flowseg/core';
import type { MatchIndices } from '@flowseg/mask2former-decoder';
import type { AttributeHead } from '../model/AttributeHead.js';

/**
 * Attribute loss of segmentor pretraining: for every query Hungarian-matched to an object,
 * the cross-entropy of each attribute group's logits with that object's class, averaged over
 * matched queries and summed over groups: `L_attr = Σ_g mean_{(i,k) matched} CE(head_g(Q_out,i), a_k,g)`.
 * Zero (on the tape) when nothing is matched.
 *
 * @param head - the model's attribute head.
 * @param queries - output queries `[batch, queries, channels]`.
 * @param matches - per batch item, the final output's query ↔ object matching.
 * @param attributes - per batch item, per object, one class index per attribute group.
 */
export function attributeLoss(
  head: AttributeHead,
  queries: tf.Tensor3D,
  matches: readonly MatchIndices[],
  attributes: readonly (readonly (readonly number[])[])[],
): tf.Scalar {
  const [batch, numQueries, channels] = queries.shape;
  const rows: number[] = [];
  const labels: number[][] = head.classes.map(() => []);
  if (matches.length !== batch) {
    throw new ValueError(`matches: expected one matching per batch item (${batch}), received ${matches.length}`, 'matches');
  }
  matches.forEach((m, b) => {
    m.queryIndices.forEach((q, j) => {
      if (!Number.isInteger(q) || q < 0 || q >= numQueries) {
        throw new ValueError(`matches[${b}].queryIndices[${j}]: expected a query in [0, ${numQueries}), received ${q}`, 'matches');
      }
      const object = m.targetIndices[j]!;
      const classes = attributes[b]?.[object];
      if (!classes || classes.length !== head.classes.length) {
        throw new ValueError(
          `instanceAttributes[${b}][${object}]: expected ${head.classes.length} class indices (one per attribute group), received ${JSON.stringify(classes)}`,
          'instanceAttributes',
        );
      }
      classes.forEach((k, g) => {
        if (!Number.isInteger(k) || k < 0 || k >= head.classes[g]!) {
          throw new ValueError(`instanceAttributes[${b}][${object}][${g}]: expected a class in [0, ${head.classes[g]}), received ${k}`, 'instanceAttributes');
        }
        labels[g]!.push(k);
      });
      rows.push(b * numQueries + q);
    });
  });
  return tf.tidy(() => {
    if (rows.length === 0) return tf.mul(tf.sum(queries), 0) as tf.Scalar;
    const matched = tf.gather(tf.reshape(queries, [batch * numQueries, channels]), tf.tensor1d(rows, 'int32')) as tf.Tensor2D;
    const perGroup = head.forward(matched).map((logits, g) => {
      const target = tf.oneHot(tf.tensor1d(labels[g]!, 'int32'), head.classes[g]!);
      return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), target), -1)));
    });
    return tf.addN(perGroup) as tf.Scalar;
  });
}
