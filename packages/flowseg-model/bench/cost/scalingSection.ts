import * as tf from '@tensorflow/tfjs';
import type { FlowSegConfig, WordTokenizer } from '../../src/index.js';
import { bandCounts, BENCH_CONDITIONS } from './components.js';
import { barEvaluation, buildBenchModel, buildDecoderParts } from './decoderParts.js';
import { benchSample, ellipseMaskLogits } from './fixtures.js';
import { STANDARD_LAYER, barFlopsFor, decoderFlops, modelFlops, modelGeometry } from './flops.js';
import { REFERENCE_MATMUL, matmulCase } from './referenceRates.js';
import { ms, pct, printTable, round } from './report.js';
import { currentRateClock, interleave, median, pairedRatio, rateSamples, tensorsOf, type TimedCase } from './timing.js';

/** Decoder cost at one query count. */
export interface QueryScalingPoint {
  readonly queries: number;
  /** Median ms (rate clock): standard decoder, BSF decoder, BAR on `queries` masks. */
  readonly standardMs: number;
  readonly bsfMs: number;
  readonly barMs: number;
  /** Analytic FLOPs of the same three. */
  readonly standardFlops: number;
  readonly bsfFlops: number;
  readonly barFlops: number;
  /** `(t_bsf + t_bar) / t_standard − 1` (median of per-round ratios) and the FLOP counterpart. */
  readonly latencyOverhead: number;
  readonly flopOverhead: number;
  /** BSF decoder's rate over the reference matmul's (same rounds). */
  readonly bsfOfMatmul: number;
}

/**
 * Decoder latency as the number of queries N grows (standard vs BSF layers, plus BAR on N
 * masks), every N and the reference matmul interleaved in the same rounds. Decoder inputs are
 * random features of the config's sizes (the decoder's cost does not depend on their values);
 * BAR gets ellipse masks (`fixtures.ts`).
 */
export async function queryScaling(config: FlowSegConfig, counts: readonly number[], rounds: number): Promise<{ matmulGflops: number; points: QueryScalingPoint[] }> {
  const { decoderScales, maskSize } = modelGeometry(config);
  const keep: tf.Tensor[] = [];
  const features = decoderScales.map((s, i) => tf.randomNormal([1, s.height, s.width, config.pixelDecoder.convDim], 0, 1, 'float32', 20 + i) as tf.Tensor4D);
  const maskFeatures = tf.randomNormal([1, maskSize.height, maskSize.width, config.pixelDecoder.maskDim], 0, 1, 'float32', 24) as tf.Tensor4D;
  const conditions = {
    conditions: tf.randomNormal([1, BENCH_CONDITIONS, config.decoder.hiddenDim], 0, 1, 'float32', 25) as tf.Tensor3D,
    conditionMask: tf.ones([1, BENCH_CONDITIONS]) as tf.Tensor2D,
  };
  keep.push(...features, maskFeatures, conditions.conditions, conditions.conditionMask);
  const reference = matmulCase(REFERENCE_MATMUL);
  const built = counts.map((n) => {
    const parts = buildDecoderParts(config, n);
    const masks = ellipseMaskLogits(1, n, maskSize.height, maskSize.width, 100 + n);
    keep.push(masks);
    const sizes = { batch: 1, queries: n, conditions: BENCH_CONDITIONS };
    const switches = { semanticRefinement: config.bsf.semanticRefinement, conditionRefinement: config.bsf.conditionRefinement };
    const cases: TimedCase[] = [
      { key: `std.${n}`, run: () => parts.standard.forward({ features, maskFeatures, auxOutputs: false }) },
      { key: `bsf.${n}`, run: () => parts.bsf.forward({ features, maskFeatures, conditions, auxOutputs: false }) },
      {
        key: `bar.${n}`,
        run: () => {
          const out = parts.bar.forward({ maskLogits: masks, pixelFeatures: maskFeatures });
          return [out.refinedLogits, out.band, out.delta];
        },
      },
    ];
    return {
      n,
      parts,
      cases,
      flops: {
        std: decoderFlops(config, sizes, STANDARD_LAYER),
        bsf: decoderFlops(config, sizes, switches),
        bar: barFlopsFor(barEvaluation(), config, bandCounts(masks, config), n, maskSize.height * maskSize.width),
      },
    };
  });
  try {
    const samples = rateSamples(await interleave([reference, ...built.flatMap((b) => b.cases)], rounds, 1));
    const matmulGflops = reference.work / median(samples[reference.key]!) / 1e6;
    const points = built.map(({ n, flops }) => {
      const [std, bsf, bar] = ['std', 'bsf', 'bar'].map((k) => samples[`${k}.${n}`]!) as [number[], number[], number[]];
      const bsfMs = median(bsf);
      return {
        queries: n,
        standardMs: round(median(std)),
        bsfMs: round(bsfMs),
        barMs: round(median(bar)),
        standardFlops: flops.std,
        bsfFlops: flops.bsf,
        barFlops: flops.bar,
        latencyOverhead: round(pairedRatio(bsf.map((t, i) => t + bar[i]!), std) - 1, 4),
        flopOverhead: round((flops.bsf + flops.bar) / flops.std - 1, 4),
        bsfOfMatmul: round(flops.bsf / bsfMs / 1e6 / matmulGflops),
      };
    });
    printTable(
      `scaling in queries N (paper decoder: L=${config.decoder.numLayers}, D=${config.decoder.hiddenDim}, ${BENCH_CONDITIONS} conditions; ${rounds} interleaved rounds, ${currentRateClock()} time; reference matmul ${matmulGflops.toFixed(1)} GFLOP/s)`,
      points.map((p, i) => ({
        N: p.queries,
        'standard ms': ms(p.standardMs),
        'BSF ms': ms(p.bsfMs),
        'BAR ms': ms(p.barMs),
        'BSF GFLOP': (p.bsfFlops / 1e9).toFixed(2),
        'BSF % matmul': `${(100 * p.bsfOfMatmul).toFixed(0)} %`,
        'latency overhead': pct(p.latencyOverhead),
        'FLOP overhead': pct(p.flopOverhead),
        'BSF ms / previous': i === 0 ? '-' : (p.bsfMs / points[i - 1]!.bsfMs).toFixed(2),
      })),
    );
    return { matmulGflops: round(matmulGflops), points };
  } finally {
    reference.dispose();
    for (const b of built) b.parts.dispose();
    tf.dispose(keep);
  }
}

/** Whole-model cost at one image size. */
export interface ImageScalingPoint {
  readonly size: number;
  /** Median ms (rate clock). */
  readonly ms: number;
  readonly flops: number;
  readonly ofMatmul: number;
  /** Mask resolution of the candidates. */
  readonly maskSize: string;
}

/** `FlowSegModel.forward` (BSF + BAR) at several square image sizes with the config's widths, interleaved. */
export async function imageScaling(
  config: FlowSegConfig,
  tokenizer: WordTokenizer,
  sizes: readonly number[],
  rounds: number,
  label: string,
): Promise<{ matmulGflops: number; points: ImageScalingPoint[] }> {
  const reference = matmulCase(REFERENCE_MATMUL);
  const built = sizes.map((size) => {
    const c: FlowSegConfig = { ...config, image: { height: size, width: size } };
    const model = buildBenchModel(c, tokenizer);
    const sample = benchSample(c, tokenizer);
    const first = model.forward({ images: sample.images, tokenIds: sample.tokenIds, auxOutputs: false });
    const prompt = {
      textTokens: sample.tokenIds[0]!.length,
      vocabSize: tokenizer.vocabSize,
      conditions: first.conditionMask.shape[1],
      targets: first.selectedLogits.shape[0],
    };
    const flops = modelFlops(c, prompt, bandCounts(first.rawCandidateLogits, c), barEvaluation());
    tf.dispose(tensorsOf(first));
    const { maskSize } = modelGeometry(c);
    return {
      size,
      model,
      sample,
      flops,
      maskSize: `${maskSize.height}×${maskSize.width}`,
      case: { key: `model.${size}`, run: () => model.forward({ images: sample.images, tokenIds: sample.tokenIds, auxOutputs: false }) },
    };
  });
  try {
    const samples = rateSamples(await interleave([reference, ...built.map((b) => b.case)], rounds, 1));
    const matmulGflops = reference.work / median(samples[reference.key]!) / 1e6;
    const points = built.map((b) => {
      const t = median(samples[b.case.key]!);
      return { size: b.size, ms: round(t), flops: b.flops, ofMatmul: round(b.flops / t / 1e6 / matmulGflops), maskSize: b.maskSize };
    });
    printTable(
      `scaling in image size (whole model with BSF + BAR, ${label} widths; ${rounds} interleaved rounds, ${currentRateClock()} time; reference matmul ${matmulGflops.toFixed(1)} GFLOP/s)`,
      points.map((p, i) => ({
        image: `${p.size}×${p.size}`,
        masks: p.maskSize,
        ms: ms(p.ms),
        GFLOP: (p.flops / 1e9).toFixed(2),
        'GFLOP/s': (p.flops / p.ms / 1e6).toFixed(1),
        '% matmul': `${(100 * p.ofMatmul).toFixed(0)} %`,
        'ms / previous': i === 0 ? '-' : (p.ms / points[i - 1]!.ms).toFixed(2),
        'GFLOP / previous': i === 0 ? '-' : (p.flops / points[i - 1]!.flops).toFixed(2),
      })),
    );
    return { matmulGflops: round(matmulGflops), points };
  } finally {
    reference.dispose();
    for (const b of built) {
      b.model.dispose();
      b.sample.images.dispose();
    }
  }
}
