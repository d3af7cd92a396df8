import * as tf from '@tensorflow/tfjs';
import type { FlowSegLayer } from '@flowseg/core';

/**
 * Rebuild `layer` from its `getConfig()` through the class registered with
 * `tf.serialization.registerClass`, then copy every weight by its dotted name.
 */
export function roundTrip<T extends FlowSegLayer>(layer: T): T {
  const className = layer.getClassName();
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`${className} is not registered`);
  const [cls, fromConfig] = entry;
  const config = JSON.parse(JSON.stringify(layer.getConfig())) as tf.serialization.ConfigDict;
  const clone = fromConfig(cls, config) as T;
  clone.ensureBuilt();
  const source = layer.namedWeights();
  const target = clone.namedWeights();
  if ([...source.keys()].join() !== [...target.keys()].join()) throw new Error('weight names differ');
  for (const [name, v] of target) v.write(source.get(name)!.read());
  return clone;
}

/** Maximum |gradient| of `loss` for each named trainable weight of `layer`. */
export function gradientMagnitudes(layer: FlowSegLayer, loss: () => tf.Scalar): Map<string, number> {
  const named = [...layer.namedWeights()].filter(([, v]) => v.trainable);
  const vars = named.map(([, v]) => v.read() as tf.Variable);
  const grads = tf.tidy(() => {
    const { grads } = tf.variableGrads(loss, vars);
    return vars.map((v) => tf.max(tf.abs(grads[v.name]!)));
  });
  const out = new Map<string, number>();
  named.forEach(([name], i) => out.set(name, grads[i]!.dataSync()[0]!));
  tf.dispose(grads);
  return out;
}

/** Maximum absolute difference between two tensors' values. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Read all weights of a layer as plain arrays, by name. */
export function weightValues(layer: FlowSegLayer): Map<string, Float32Array> {
  return new Map([...layer.namedWeights()].map(([k, v]) => [k, v.read().dataSync() as Float32Array]));
}
