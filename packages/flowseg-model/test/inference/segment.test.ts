import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaksAsync } from '@flowseg/core/testing';
import { generateSample } from '@flowseg/refseg-synth';
import {
  FlowSegModel,
  disposeFlowSegOutputs,
  repairAnswerIds,
  segment,
  segmentBatch,
  segmentationPrompt,
  type RgbImage,
} from '../../src/index.js';
import { tinyModel, tinyTokenizer } from '../support/tinyFlowSeg.js';

let model: FlowSegModel;
const multi = generateSample('val', 'multi', 0);
const scene64: RgbImage = { rgb: multi.scene.image, width: 64, height: 64 };

/** Nearest-free, half-pixel-centre bilinear resize of a `[h, w]` map (PyTorch align_corners=False). */
function bilinear(src: Float32Array, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  const coord = (o: number, inSize: number, outSize: number) => {
    const f = Math.max(0, ((o + 0.5) * inSize) / outSize - 0.5);
    const i0 = Math.floor(f);
    return [i0, Math.min(i0 + 1, inSize - 1), f - i0] as const;
  };
  for (let y = 0; y < H; y++) {
    const [y0, y1, fy] = coord(y, h, H);
    for (let x = 0; x < W; x++) {
      const [x0, x1, fx] = coord(x, w, W);
      const top = src[y0 * w + x0]! + (src[y0 * w + x1]! - src[y0 * w + x0]!) * fx;
      const bottom = src[y1 * w + x0]! + (src[y1 * w + x1]! - src[y1 * w + x0]!) * fx;
      out[y * W + x] = top + (bottom - top) * fy;
    }
  }
  return out;
}

/** A 32×32 RGB image (downsampled scene) as bytes. */
function scene32(): RgbImage {
  const rgb = new Uint8Array(32 * 32 * 3);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) rgb[(y * 32 + x) * 3 + c] = multi.scene.image[(y * 2 * 64 + x * 2) * 3 + c]!;
  return { rgb, width: 32, height: 32 };
}

describe('segment', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { wasmThreads: 1 });
    model = tinyModel();
  });

  afterAll(() => model.dispose());

  it('builds the prompt by the documented rule', () => {
    expect(segmentationPrompt('the small red circle')).toBe('segment the small red circle');
    expect(segmentationPrompt('  Find   the red circle ')).toBe('Find the red circle');
    expect(segmentationPrompt('show me all the red shapes')).toBe('show me all the red shapes');
    expect(segmentationPrompt('describe the image')).toBe('describe the image');
    expect(segmentationPrompt('segmented shapes')).toBe('segment segmented shapes');
    expect(() => segmentationPrompt('   ')).toThrow(ValueError);
  });

  it('returns one target per <SEG> of a teacher-forced answer, with masks, scores and candidates', async () => {
    const result = await segment(model, scene64, 'show me all the red shapes', { answer: multi.answer });
    const segs = multi.answer.split(' ').filter((w) => w === '<SEG>').length;
    expect(segs).toBeGreaterThan(1);
    expect(result.prompt).toBe('show me all the red shapes');
    expect(result.answer).toBe(multi.answer);
    expect(result.answerSource).toBe('given');
    expect(result.repairs).toEqual([]);
    expect(result.phrases).toEqual([...multi.answer.matchAll(/<p> (.*?) <\/p>/g)].map((m) => m[1]));
    expect(result.targets).toHaveLength(segs);
    expect([result.imageWidth, result.imageHeight, result.maskWidth, result.maskHeight]).toEqual([64, 64, 16, 16]);
    result.targets.forEach((t, k) => {
      expect(t.segIndex).toBe(k);
      expect(t.phrases).toEqual([result.phrases[k]]);
      expect(t.mask.width).toBe(64);
      expect(t.mask.data).toHaveLength(64 * 64);
      expect(t.logits.data).toHaveLength(16 * 16);
      expect(t.candidates).toHaveLength(4);
      expect(t.candidates.map((c) => c.index)).toEqual([0, 1, 2, 3]);
      const sum = t.candidates.reduce((a, c) => a + c.probability, 0);
      expect(sum).toBeCloseTo(1, 5);
      const best = t.candidates.reduce((a, c) => (c.score > a.score ? c : a));
      expect(t.selectedIndex).toBe(best.index);
      expect(t.score).toBe(best.score);
      expect(t.probability).toBe(best.probability);
      expect(t.objectProbability).toBe(best.objectProbability);
      expect(t.objectProbability).toBeGreaterThan(0);
      expect(t.objectProbability).toBeLessThan(1);
      // The image-resolution mask is the selected logits resized bilinearly, then > 0.
      const reference = bilinear(t.logits.data, 16, 16, 64, 64);
      let mismatches = 0;
      reference.forEach((v, i) => {
        if (Math.abs(v) > 1e-4 && (v > 0 ? 1 : 0) !== t.mask.data[i]) mismatches++;
      });
      expect(mismatches).toBe(0);
      // Its candidate carries the same mask.
      expect(t.candidates[t.selectedIndex]!.mask.data).toEqual(t.mask.data);
      expect(t.layers).toBeUndefined();
    });
  });

  it('matches a direct model.forward on <bos> prompt answer <eos> (no resize at the model size)', async () => {
    const image = scene32();
    const answer = '<p> the red circle </p> <SEG> <p> the square </p> <SEG>';
    const result = await segment(model, image, 'the red shapes', { answer, layers: true, candidates: 'mask' });
    expect(result.prompt).toBe('segment the red shapes');
    const tok = model.tokenizer;
    const ids = [[...tok.encode('segment the red shapes', { addBos: true }), ...tok.encode(answer, { addEos: true })]];
    const images = tf.tidy(() => tf.div(tf.tensor4d(image.rgb, [1, 32, 32, 3], 'float32'), 255) as tf.Tensor4D);
    const out = model.forward({ images, tokenIds: ids });
    const selected = out.selectedLogits.arraySync();
    const raw = out.rawCandidateLogits.arraySync();
    const candidates = out.candidateLogits.arraySync();
    const index = Array.from(out.selectedIndex.dataSync());
    const scores = out.scores.arraySync();
    result.targets.forEach((t, r) => {
      expect(t.selectedIndex).toBe(index[r]);
      expect(t.score).toBeCloseTo(scores[r]![index[r]!]!, 5);
      Array.from(t.logits.data).forEach((v, i) => expect(v).toBeCloseTo(selected[r]![Math.floor(i / 16)]![i % 16]!, 4));
      // Candidates at mask resolution: logit > 0.
      t.candidates.forEach((c) => {
        expect(c.mask.width).toBe(16);
        expect(Array.from(c.mask.data)).toEqual(candidates[r]![c.index]!.flat().map((v) => (v > 0 ? 1 : 0)));
      });
      // Layers: depth 0 … numLayers; the last is the decoder's output before BAR.
      expect(t.layers!.map((l) => l.depth)).toEqual([0, 1, 2, 3]);
      const last = t.layers![3]!.logits.data;
      Array.from(last).forEach((v, i) => expect(v).toBeCloseTo(raw[r]![index[r]!]![Math.floor(i / 16)]![i % 16]!, 4));
      expect(t.layers![3]!.objectProbability).toBeCloseTo(t.objectProbability, 5);
    });
    disposeFlowSegOutputs(out);
    images.dispose();
  });

  it('a higher mask threshold never adds pixels', async () => {
    const low = await segment(model, scene64, 'the red circle', { answer: '<p> the red circle </p> <SEG>', maskThreshold: 0.3 });
    const high = await segment(model, scene64, 'the red circle', { answer: '<p> the red circle </p> <SEG>', maskThreshold: 0.7 });
    const lo = low.targets[0]!.mask.data;
    const hi = high.targets[0]!.mask.data;
    expect(hi.every((v, i) => v <= lo[i]!)).toBe(true);
    expect(low.targets[0]!.logits.data).toEqual(high.targets[0]!.logits.data);
  });

  it('gives zero targets for an answer without <SEG>', async () => {
    const result = await segment(model, scene64, 'find the purple star', { answer: '<p> the purple star </p> no object matches' });
    expect(result.targets).toEqual([]);
    expect(result.phrases).toEqual(['the purple star']);
  });

  it('generates the answer with the language model (image tokens as prefix) and reports repairs', async () => {
    const result = await segment(model, scene32(), 'the red circle', { maxNewTokens: 5 });
    expect(result.answerSource).toBe('generated');
    // The same greedy decoding, done by hand.
    const tok = model.tokenizer;
    const generated = tf.tidy(() => {
      const images = tf.div(tf.tensor4d(scene32().rgb, [1, 32, 32, 3], 'float32'), 255) as tf.Tensor4D;
      const imageTokens = model.visionEncoder.forward(images).tokens;
      const prompt = tf.tensor2d([tok.encode('segment the red circle', { addBos: true })], undefined, 'int32');
      return model.languageModel.generate(imageTokens, prompt, { maxNewTokens: 5, eosId: tok.eosId });
    })[0]!;
    const end = generated.indexOf(tok.eosId);
    const repaired = repairAnswerIds(end >= 0 ? generated.slice(0, end) : generated, tok);
    expect(result.answer).toBe(tok.decode(repaired.ids));
    if (end < 0) expect(result.repairs[0]).toMatch(/no <eos> within maxNewTokens=5/);
  });

  it('segments one target per generated <SEG> (language model forced to emit <SEG>)', async () => {
    const forced = tinyModel();
    const w = forced.namedWeights();
    const tok = forced.tokenizer;
    // Constant final hidden state h = 10·E[<SEG>], and a longer E[<SEG>]: argmax of h·Eᵀ is <SEG>.
    const embed = w.get('language_model.embed_tokens.weight')!;
    const table = embed.read().arraySync() as number[][];
    table[tok.segId] = table[tok.segId]!.map((v) => v * 10);
    embed.write(tf.tensor2d(table));
    const norm = w.get('language_model.norm.weight')!;
    norm.write(tf.zerosLike(norm.read()));
    w.get('language_model.norm.bias')!.write(tf.tensor1d(table[tok.segId]!));
    const result = await segment(forced, scene64, 'the red circle', { maxNewTokens: 3 });
    expect(result.answer).toBe('<SEG> <SEG> <SEG>');
    expect(result.repairs).toEqual(['no <eos> within maxNewTokens=3 tokens: the answer ends there']);
    expect(result.targets.map((t) => t.segIndex)).toEqual([0, 1, 2]);
    expect(result.targets.every((t) => t.phrases.length === 0)).toBe(true);
    forced.dispose();
  });

  it('accepts float32 [0,1] and int32 [0,255] tensors, RGBA and RGB bytes alike; resizes other sizes bilinearly', async () => {
    const answer = '<p> the red circle </p> <SEG>';
    const run = async (image: Parameters<typeof segment>[1]) => {
      const r = await segment(model, image, 'the red circle', { answer, candidates: 'none' });
      return { score: r.targets[0]!.score, mask: r.targets[0]!.mask };
    };
    const bytes = await run(scene64);
    const int = tf.tensor3d(scene64.rgb, [64, 64, 3], 'int32');
    const float = tf.tidy(() => tf.div(tf.cast(int, 'float32'), 255) as tf.Tensor3D);
    const rgba = new Uint8ClampedArray(64 * 64 * 4).map((_, i) => (i % 4 === 3 ? 7 : scene64.rgb[Math.floor(i / 4) * 3 + (i % 4)]!));
    for (const other of [await run(int), await run(float), await run({ data: rgba, width: 64, height: 64 })]) {
      expect(other.score).toBeCloseTo(bytes.score, 5);
      expect(other.mask).toEqual(bytes.mask);
    }
    tf.dispose([int, float]);
    // A uniform image of any size is the same uniform image at the model's size.
    const uniform = (w: number, h: number): RgbImage => ({ rgb: new Uint8Array(w * h * 3).fill(150), width: w, height: h });
    const a = await segment(model, uniform(32, 32), 'the red circle', { answer });
    const b = await segment(model, uniform(50, 20), 'the red circle', { answer });
    expect(b.targets[0]!.score).toBeCloseTo(a.targets[0]!.score, 5);
    expect([b.targets[0]!.mask.width, b.targets[0]!.mask.height]).toEqual([50, 20]);
    expect(b.targets[0]!.candidates[0]!.mask.data).toHaveLength(50 * 20);
  });

  it('rejects bad images, expressions, answers and options with errors naming them', async () => {
    const answer = '<p> the red circle </p> <SEG>';
    const fails = async (image: unknown, options: Record<string, unknown> = {}, expression = 'the red circle') =>
      segment(model, image as RgbImage, expression, { answer, ...options }).then(
        () => null,
        (e: Error) => e,
      );
    const e1 = await fails(tf.fill([8, 8, 3], 2));
    expect(e1).toBeInstanceOf(ValueError);
    expect(e1!.message).toMatch(/^image: values span \[2, 2\]; float32 images must hold values in \[0, 1\]/);
    const e2 = await fails(tf.fill([8, 8, 3], 300, 'int32'));
    expect(e2!.message).toMatch(/int32 images must hold values in \[0, 255\]/);
    const e3 = await fails(tf.zeros([8, 8, 4]));
    expect(e3).toBeInstanceOf(ShapeError);
    expect(e3!.message).toMatch(/^image: expected \[height=8, width=8, channels=3\], received \[8, 8, 4\] \(channels: 4 ≠ 3\)/);
    expect(await fails(tf.zeros([8, 8, 3], 'bool'))).toBeInstanceOf(DTypeError);
    expect(await fails(tf.zeros([0, 8, 3]))).toBeInstanceOf(ShapeError);
    expect(await fails(tf.zeros([8, 3]))).toBeInstanceOf(ShapeError);
    const nan = await fails(tf.fill([4, 4, 3], NaN));
    expect(nan).toBeInstanceOf(ValueError);
    const e4 = await fails({ rgb: new Uint8Array(10), width: 2, height: 2 });
    expect(e4).toBeInstanceOf(ShapeError);
    expect(e4!.message).toMatch(/^image: expected \[height=2, width=2, 3\]/);
    const e5 = await fails({ data: new Uint8ClampedArray(12), width: 2, height: 2 });
    expect(e5).toBeInstanceOf(ShapeError);
    expect(e5!.message).toMatch(/for RGB bytes pass \{ rgb, width, height \}/);
    const e6 = await fails({ rgb: new Uint8Array(0), width: 0, height: 4 });
    expect(e6).toBeInstanceOf(ValueError);
    expect(e6!.message).toMatch(/^image\.width: expected a positive integer/);
    expect((await fails('picture.png'))!.message).toMatch(/^image: expected a tf.Tensor3D/);
    expect((await fails(scene64, {}, '   '))!.message).toMatch(/^expression:/);
    expect((await fails(scene64, {}, 'red '.repeat(80)))!.message).toMatch(/^expression: the prompt has \d+ tokens/);
    expect((await fails(scene64, { answer: '<p> the red circle <SEG>' }))!.message).toMatch(/^answer: not a well-formed answer/);
    expect((await fails(scene64, { maskThreshold: 1 }))!.message).toMatch(/^maskThreshold/);
    expect((await fails(scene64, { candidates: 'all' }))!.message).toMatch(/^candidates/);
    expect((await fails(scene64, { layers: 1 }))!.message).toMatch(/^layers/);
    const tooMany = await segment(model, scene64, 'the red circle', { maxNewTokens: 500 }).catch((e: Error) => e);
    expect((tooMany as Error).message).toMatch(/^maxNewTokens: 500 exceeds the \d+ tokens/);
    expect(await segment(model, scene64, 'the red circle', { maxNewTokens: 0 }).catch((e: Error) => e)).toBeInstanceOf(ValueError);
  });

  it('segmentBatch gives the results of one segment call per request, images of different sizes included', async () => {
    const other = generateSample('val', 'attribute', 3);
    const otherImage: RgbImage = { rgb: other.scene.image, width: 64, height: 64 };
    const requests = [
      { image: scene64, expression: 'show me all the red shapes', answer: multi.answer },
      { image: scene32(), expression: other.prompt },
      { image: otherImage, expression: other.prompt, answer: other.answer },
      // A second generated answer with a shorter prompt: prompts are left-padded together.
      { image: scene64, expression: 'the red circle' },
    ];
    expect(other.prompt.split(' ').length).toBeGreaterThan(4);
    const batch = await segmentBatch(model, requests, { maxNewTokens: 4, candidates: 'mask' });
    expect(batch).toHaveLength(4);
    for (const [i, r] of requests.entries()) {
      const single = await segment(model, r.image, r.expression, { maxNewTokens: 4, candidates: 'mask', ...(r.answer ? { answer: r.answer } : {}) });
      expect(batch[i]!.answer).toBe(single.answer);
      expect(batch[i]!.answerSource).toBe(single.answerSource);
      expect(batch[i]!.targets).toHaveLength(single.targets.length);
      expect(batch[i]!.imageWidth).toBe(r.image.width);
      batch[i]!.targets.forEach((t, k) => {
        const s = single.targets[k]!;
        expect(t.selectedIndex).toBe(s.selectedIndex);
        expect(t.score).toBeCloseTo(s.score, 3);
        const diff = t.logits.data.reduce((m, v, j) => Math.max(m, Math.abs(v - s.logits.data[j]!)), 0);
        expect(diff).toBeLessThan(1e-3);
      });
    }
    const bad = await segmentBatch(model, [requests[0]!, { image: scene64, expression: '' }]).catch((e: Error) => e);
    expect((bad as Error).message).toMatch(/^requests\[1\]\.expression/);
    await expect(segmentBatch(model, [])).rejects.toThrow(/^requests/);
  });

  it('is leak-free over 100 consecutive calls', async () => {
    const answer = '<p> the red circle </p> <SEG>';
    await expectNoLeaksAsync(
      async () => {
        for (let i = 0; i < 100; i++) {
          await segment(model, scene64, 'the red circle', i % 10 === 0 ? { maxNewTokens: 3, layers: true } : { answer, candidates: i % 2 ? 'mask' : 'image' });
        }
      },
      { warmup: false },
    );
    // Failing calls leave nothing behind either.
    const before = tf.memory().numTensors;
    await segment(model, scene64, 'the red circle', { answer: '<p> the red circle' }).catch(() => null);
    await segment(model, { rgb: new Uint8Array(5), width: 1, height: 1 }, 'x', { answer }).catch(() => null);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('repairAnswerIds', () => {
  const tok = tinyTokenizer();
  const repair = (text: string) => {
    const r = repairAnswerIds(tok.encode(text), tok);
    return { text: tok.decode(r.ids), repairs: r.repairs };
  };

  it('leaves a well-formed answer alone', () => {
    expect(repair('<p> the red circle </p> <SEG> <p> the square </p> <SEG>')).toEqual({
      text: '<p> the red circle </p> <SEG> <p> the square </p> <SEG>',
      repairs: [],
    });
  });

  it('closes open phrases before <p>, before <SEG> and at the end; drops stray </p> and sequence tokens', () => {
    expect(repair('<p> the red <p> circle </p> <SEG>').text).toBe('<p> the red </p> <p> circle </p> <SEG>');
    expect(repair('<p> the red circle <SEG>').text).toBe('<p> the red circle </p> <SEG>');
    expect(repair('</p> the <p> red').text).toBe('the <p> red </p>');
    const r = repair('<bos> <p> red </p> <pad> <SEG> <eos>');
    expect(r.text).toBe('<p> red </p> <SEG>');
    expect(r.repairs).toEqual([
      'removed <bos> at answer position 0',
      'removed <pad> at answer position 4',
      'removed <eos> at answer position 6',
    ]);
    expect(repair('<p> a <SEG>').repairs).toEqual(['closed the phrase opened at answer position 0 before the <SEG> at position 2']);
  });
});
