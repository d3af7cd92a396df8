import * as tf from '@tensorflow/tfjs';

/** A batch of the toy referring task: find the square of the colour the "phrase" names. */
export interface ToyBatch {
  /** RGB images `[batch, height, width, 3]` in [0, 1]. */
  readonly images: tf.Tensor4D;
  /** Stand-in LLM phrase states (one row per phrase, padded) `[batch, conditions, llmDim]`. */
  readonly phraseStates: tf.Tensor3D;
  /** Phrase validity `[batch, conditions]`, float32, 1 = real phrase. */
  readonly phraseMask: tf.Tensor2D;
  /** Target mask of the referred square `[batch, height·width]`, float32 {0, 1}. */
  readonly target: tf.Tensor2D;
}

const COLOURS = [
  [0.9, 0.1, 0.1],
  [0.1, 0.8, 0.2],
  [0.2, 0.3, 0.9],
] as const;
/** Vocabulary of the stand-in LLM: three colour words and one uninformative word ("square"). */
const WORDS = 4;

/** Small seeded PRNG (mulberry32): same seed, same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Seeded generator of toy batches: each image has three coloured squares in three of its four
 * quadrants; the phrases are the target colour word, sometimes followed by "square" (so the
 * number of conditions is ragged: 1 or 2, padded to 2). Word states are fixed random vectors,
 * standing in for a language model's hidden states.
 */
export class ToyReferringData {
  private readonly next: () => number;
  private readonly wordStates: number[][];

  constructor(
    readonly size: number,
    readonly llmDim: number,
    seed: number,
  ) {
    this.next = prng(seed);
    const words = prng(seed ^ 0x9e3779b9);
    this.wordStates = Array.from({ length: WORDS }, () => Array.from({ length: llmDim }, () => 2 * words() - 1));
  }

  /** Draw a batch. */
  batch(batchSize: number): ToyBatch {
    const s = this.size;
    const half = s / 2;
    const images = new Float32Array(batchSize * s * s * 3);
    const target = new Float32Array(batchSize * s * s);
    const states: number[][][] = [];
    const mask: number[][] = [];
    for (let b = 0; b < batchSize; b++) {
      for (let p = 0; p < s * s * 3; p++) images[b * s * s * 3 + p] = 0.1 * this.next();
      const quadrants = [0, 1, 2, 3];
      for (let i = 3; i > 0; i--) {
        const j = Math.floor(this.next() * (i + 1));
        [quadrants[i], quadrants[j]] = [quadrants[j]!, quadrants[i]!];
      }
      const referred = Math.floor(this.next() * 3);
      quadrants.slice(0, 3).forEach((quadrant, colour) => {
        const side = 2 + Math.floor(this.next() * (half - 2));
        const y0 = (quadrant >> 1) * half + Math.floor(this.next() * (half - side + 1));
        const x0 = (quadrant & 1) * half + Math.floor(this.next() * (half - side + 1));
        for (let y = y0; y < y0 + side; y++) {
          for (let x = x0; x < x0 + side; x++) {
            const px = (b * s + y) * s + x;
            for (let c = 0; c < 3; c++) images[px * 3 + c] = COLOURS[colour]![c]!;
            if (colour === referred) target[px] = 1;
          }
        }
      });
      const extra = this.next() < 0.5;
      states.push([this.wordStates[referred]!, extra ? this.wordStates[3]! : new Array<number>(this.llmDim).fill(0)]);
      mask.push([1, extra ? 1 : 0]);
    }
    return {
      images: tf.tensor4d(images, [batchSize, s, s, 3]),
      phraseStates: tf.tensor3d(states),
      phraseMask: tf.tensor2d(mask),
      target: tf.tensor2d(target, [batchSize, s * s]),
    };
  }
}
