import { generateSample, type Family } from '@flowseg/refseg-synth';
import { sequenceBatch, type WordTokenizer } from '@flowseg/flowseg-model';

/** A batch every backend runs: images, and `<bos> prompt answer <eos>` ids with the expected answers. */
export interface ParityBatch {
  /** Sample ids (`test/attribute/3`). */
  readonly ids: readonly string[];
  /** Images `[batch, 64, 64, 3]` scaled to `[0, 1]` on the CPU (bit-identical for every backend). */
  readonly images: Float32Array;
  /** Batch size. */
  readonly batch: number;
  /** Token ids `[batch][tokens]`, right-padded. */
  readonly tokenIds: number[][];
  /** `[batch][tokens]` 1 = real token. */
  readonly attentionMask: number[][];
}

/**
 * Test-split samples of the synthetic benchmark with their expected answers (teacher forcing:
 * the decoder's conditions do not depend on generation). A `multi` sample gives several
 * `<SEG>` targets, so per-target rows are compared too.
 */
export function parityBatch(tokenizer: WordTokenizer, picks: ReadonlyArray<readonly [Family, number]>, maxTokens: number): ParityBatch {
  const samples = picks.map(([family, index]) => generateSample('test', family, index));
  const size = 64 * 64 * 3;
  const images = new Float32Array(samples.length * size);
  samples.forEach((s, i) => images.set(Float32Array.from(s.scene.image, (v) => v / 255), i * size));
  const seq = sequenceBatch(tokenizer, samples.map((s) => ({ prompt: s.prompt, answer: s.answer })), maxTokens);
  return { ids: samples.map((s) => s.id), images, batch: samples.length, tokenIds: seq.ids, attentionMask: seq.attentionMask };
}
