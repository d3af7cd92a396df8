/**
 * Adopt Bidirectional Semantic Flow in your own Mask2Former-style head.
 *
 * The head in TinyMaskHead.ts builds its decoder layers through core's `DecoderLayerFactory`.
 * Swapping its standard layers for BSF layers is one line:
 *
 *   new TinyMaskHead({ ...sizes, layerFactory: bsfLayerFactory({ seed }) })
 *
 * This program trains the head both ways for a few steps on a toy referring task (find the
 * square of the colour the phrase names) and prints the losses. Run: `npm start`.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName, type DecoderLayerFactory } from '@flowseg/core';
import { bsfLayerFactory } from '@flowseg/bsf-layer';
import { pathToFileURL } from 'node:url';
import { TinyMaskHead } from './TinyMaskHead.js';
import { standardLayerFactory } from './StandardDecoderLayer.js';
import { ToyReferringData, type ToyBatch } from './toyReferringData.js';

/** Options of {@link main}. */
export interface AdoptBsfOptions {
  /** Image side (even). */
  imageSize?: number;
  hiddenDim?: number;
  numQueries?: number;
  numLayers?: number;
  numHeads?: number;
  ffnDim?: number;
  llmDim?: number;
  batchSize?: number;
  /** Training steps per head. */
  steps?: number;
  learningRate?: number;
  seed?: number;
  backend?: BackendName;
  /** Where progress lines go (default `console.log`). */
  log?: (line: string) => void;
}

/** What one head did in training. */
export interface HeadRun {
  /** Which layers the head used. */
  readonly layers: 'standard' | 'bsf';
  /** Parameter count of the head. */
  readonly params: number;
  /** Loss after each step. */
  readonly losses: number[];
}

/** Selection temperature: query–condition cosine similarity / τ. */
const TAU = 0.1;

/**
 * FlowSeg-style selection and loss: each query is scored by its cosine similarity to the mean
 * of the (refined) conditions; the softmax over scores mixes the query masks; loss = BCE +
 * dice against the referred square.
 */
function referringLoss(head: TinyMaskHead, batch: ToyBatch): tf.Scalar {
  return tf.tidy(() => {
    const out = head.forward(batch.images, batch.phraseStates, batch.phraseMask, true);
    const { conditions, conditionMask } = out.conditions;
    const weights = tf.expandDims(conditionMask, -1);
    const pooled = tf.div(tf.sum(tf.mul(conditions, weights), 1), tf.maximum(tf.sum(weights, 1), 1)); // [B, D]
    const unit = (x: tf.Tensor) => tf.div(x, tf.add(tf.norm(x, 'euclidean', -1, true), 1e-6));
    const scores = tf.div(tf.squeeze(tf.matMul(unit(out.queries), tf.expandDims(unit(pooled), -1)), [2]), TAU); // [B, N]
    const mix = tf.expandDims(tf.softmax(scores), -1); // [B, N, 1]
    const logits = tf.sum(tf.mul(mix, out.maskLogits), 1); // [B, H·W]
    const bce = tf.losses.sigmoidCrossEntropy(batch.target, logits);
    const prob = tf.sigmoid(logits);
    const inter = tf.sum(tf.mul(prob, batch.target), -1);
    const dice = tf.mean(tf.sub(1, tf.div(tf.add(tf.mul(inter, 2), 1), tf.add(tf.add(tf.sum(prob, -1), tf.sum(batch.target, -1)), 1))));
    return tf.add(bce, dice) as tf.Scalar;
  });
}

function train(
  layers: HeadRun['layers'],
  layerFactory: DecoderLayerFactory,
  o: Required<Omit<AdoptBsfOptions, 'backend' | 'log'>>,
  log: (line: string) => void,
): HeadRun {
  const head = new TinyMaskHead({ ...o, layerFactory });
  head.ensureBuilt();
  const data = new ToyReferringData(o.imageSize, o.llmDim, o.seed); // same batches for both heads
  const optimizer = tf.train.adam(o.learningRate);
  const vars = head.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [];
  for (let step = 0; step < o.steps; step++) {
    const batch = data.batch(o.batchSize);
    const loss = optimizer.minimize(() => referringLoss(head, batch), true, vars)!;
    losses.push(loss.dataSync()[0]!);
    tf.dispose([loss, batch.images, batch.phraseStates, batch.phraseMask, batch.target]);
    if (step === 0 || (step + 1) % 5 === 0 || step === o.steps - 1) {
      log(`${layers.padEnd(8)} step ${String(step + 1).padStart(3)}  loss ${losses[step]!.toFixed(4)}`);
    }
  }
  optimizer.dispose();
  const params = head.countParams();
  head.dispose();
  return { layers, params, losses };
}

/** Train the head with standard layers, then with BSF layers; return both runs. */
export async function main(options: AdoptBsfOptions = {}): Promise<{ standard: HeadRun; bsf: HeadRun }> {
  const log = options.log ?? ((line: string) => console.log(line));
  const o = {
    imageSize: 16,
    hiddenDim: 32,
    numQueries: 8,
    numLayers: 2,
    numHeads: 4,
    ffnDim: 64,
    llmDim: 24,
    batchSize: 4,
    steps: 20,
    learningRate: 3e-3,
    seed: 7,
    ...options,
  };
  const backend = await selectBackend(options.backend ?? 'wasm');
  log(`backend: ${backend.backend}`);
  const standard = train('standard', standardLayerFactory(o.seed), o, log);
  // The swap: same head, BSF layers (SR + CR) instead of the standard ones.
  const bsf = train('bsf', bsfLayerFactory({ semanticRefinement: true, conditionRefinement: true, seed: o.seed }), o, log);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  const tail = Math.max(1, Math.floor(o.steps / 5));
  for (const run of [standard, bsf]) {
    log(
      `${run.layers.padEnd(8)} params ${run.params}  loss first ${run.losses[0]!.toFixed(4)}  ` +
        `mean of last ${tail} ${mean(run.losses.slice(-tail)).toFixed(4)}`,
    );
  }
  return { standard, bsf };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
