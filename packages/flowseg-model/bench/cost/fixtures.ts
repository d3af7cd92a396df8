import * as tf from '@tensorflow/tfjs';
import { VOCABULARY_WORDS, generateSample } from '@flowseg/refseg-synth';
import { WordTokenizer, type FlowSegConfig } from '../../src/index.js';

/** The tokenizer every benchmark model uses: the synthetic dataset's words plus the prompt words. */
export function benchTokenizer(): WordTokenizer {
  const extra = ['describe', 'image'].filter((w) => !VOCABULARY_WORDS.includes(w));
  return new WordTokenizer([...VOCABULARY_WORDS, ...extra]);
}

/** One generated scene with a teacher-forced answer (one `<SEG>`, its phrases), at the config's image size. */
export interface BenchSample {
  /** `[1, height, width, 3]` in `[0, 1]`. */
  readonly images: tf.Tensor4D;
  /** Prompt + answer ids, one row. */
  readonly tokenIds: number[][];
}

/** A deterministic scene and answer from `@flowseg/refseg-synth` (the same one every run). */
export function benchSample(config: FlowSegConfig, tokenizer: WordTokenizer): BenchSample {
  const { height, width } = config.image;
  const sample = generateSample('test', 'attribute', 3, { width, height });
  const images = tf.tensor4d(Float32Array.from(sample.scene.image, (v) => v / 255), [1, height, width, 3]);
  const tokenIds = [[...tokenizer.encode(sample.prompt, { addBos: true }), ...tokenizer.encode(sample.answer, { addEos: true })]];
  return { images, tokenIds };
}

/** Deterministic uniform numbers in [0, 1) (mulberry32). */
function uniform(seed: number): () => number {
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
 * Mask logits shaped like a trained decoder's: every mask a soft ellipse (random centre, radii
 * 10–35 % of the side), logit `4·(1 − r)·radius` with `r` the normalised elliptic distance, so
 * about 2 pixels on each side of the outline fall in BAR's band. Random-weight decoders predict
 * noise instead, which would put most pixels in the band and time BAR's worst case.
 * @returns `[batch, masks, height, width]`.
 */
export function ellipseMaskLogits(batch: number, masks: number, height: number, width: number, seed = 7): tf.Tensor4D {
  const rand = uniform(seed);
  const data = new Float32Array(batch * masks * height * width);
  for (let m = 0; m < batch * masks; m++) {
    const cy = rand() * height;
    const cx = rand() * width;
    const ry = (0.1 + 0.25 * rand()) * height;
    const rx = (0.1 + 0.25 * rand()) * width;
    const scale = 4 * Math.min(ry, rx);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const r = Math.hypot((y + 0.5 - cy) / ry, (x + 0.5 - cx) / rx);
        data[(m * height + y) * width + x] = (1 - r) * scale;
      }
    }
  }
  return tf.tensor4d(data, [batch, masks, height, width]);
}
