/**
 * `npm run bench:segment -- [--checkpoint DIR] [--backend wasm|cpu|webgpu] [--threads N] [--rounds N]`:
 * what a request costs end to end with the shipped checkpoint (default
 * `packages/flowseg-model/checkpoints/flowseg-small`), and where that time goes:
 *  - `segment`, generated answer: the README's main path (language prefix, greedy answer, one
 *    forward with the prefix reused, masks read back and thresholded);
 *  - `segment`, answer given: the same requests with the answers the first case generated, so
 *    the difference is the cost of generating them;
 *  - `segmentBatch`: all requests in one call (answers generated together, one forward);
 *  - generation alone (`greedyGenerateAsync` on all prompts at once), with the language model's
 *    decoding cache and with `useCache: false` (the whole sequence re-run each step);
 *  - the parts on one image: `languagePrefix`, `forward` given that prefix, and `forward`
 *    computing it itself; their difference is what `segment` saves by reusing the prefix.
 * One test scene per family (attribute, relational, reasoning, multi, empty). Cases run
 * interleaved, round after round, so that load drifts hit them alike; medians are reported, as
 * ratios to the generated-answer `segment` of the same run. Every call is checked for leaked tensors.
 * Last line: one JSON object with every figure.
 */
import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '@flowseg/core';
import { FAMILIES, generateSample } from '@flowseg/refseg-synth';
import { disposeFlowSegOutputs, segment, segmentBatch, type FlowSegModel, type SegmentRequest } from '../src/index.js';
import { greedyGenerateAsync } from '../src/components.js';
import { loadCheckpoint } from '../src/node/checkpointFiles.js';
import { DEFAULT_CHECKPOINT_DIR } from '../src/cli/defaultCheckpoint.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function positiveInt(name: string, fallback: number): number {
  const raw = argValue(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: expected a positive integer, received ${JSON.stringify(raw)}`);
  return n;
}

/** One timed case: `run` does one unit of work (its result's tensors already freed). */
interface Case {
  readonly key: string;
  readonly label: string;
  /** Requests one call serves (times are reported per request). */
  readonly requests: number;
  readonly run: () => Promise<void>;
}

/** A forward pass on one image and `<bos> prompt answer <eos>` ids, until the selected logits are read; `prefix` when given. */
async function timedForward(model: FlowSegModel, images: tf.Tensor4D, tokenIds: number[][], prefix?: tf.Tensor3D): Promise<void> {
  const out = model.forward({ images, tokenIds, refine: 'selected', auxOutputs: false, ...(prefix ? { languagePrefix: prefix } : {}) });
  try {
    await out.selectedLogits.data();
  } finally {
    disposeFlowSegOutputs(out);
  }
}

async function main(): Promise<void> {
  const backendName = (argValue('--backend') ?? 'wasm') as BackendName;
  const threads = argValue('--threads') === undefined ? undefined : positiveInt('--threads', 1);
  const rounds = positiveInt('--rounds', 5);
  const selection = await selectBackend(backendName, threads === undefined ? {} : { wasmThreads: threads });
  const dir = argValue('--checkpoint') ?? DEFAULT_CHECKPOINT_DIR;
  const model = await loadCheckpoint(dir);
  const { width, height } = model.config.image;
  const samples = FAMILIES.map((family) => generateSample('test', family, 0, { width, height }));
  const requests: SegmentRequest[] = samples.map((s) => ({ image: { rgb: s.scene.image, width, height }, expression: s.prompt }));

  // The answers the model generates: the given-answer case feeds them back, the parts use the first.
  const generated = await segmentBatch(model, requests, { candidates: 'none' });
  const answered: SegmentRequest[] = requests.map((r, i) => ({ ...r, answer: generated[i]!.answer }));
  const tok = model.tokenizer;
  const first = samples[0]!;
  const tokenIds = [[...tok.encode(generated[0]!.prompt, { addBos: true }), ...tok.encode(generated[0]!.answer, { addEos: true })]];
  const images = tf.tensor4d(Float32Array.from(first.scene.image, (v) => v / 255), [1, height, width, 3]);
  const prefixForGiven = model.languagePrefix(images);
  // Generation alone on all requests (prompts left-padded), with and without the language model's decoding cache.
  const lm = model.languageModel;
  const prompts = generated.map((g) => tok.encode(g.prompt, { addBos: true }));
  const longest = Math.max(...prompts.map((p) => p.length));
  const promptIds = tf.tensor2d(prompts.map((p) => [...new Array<number>(longest - p.length).fill(tok.padId), ...p]), undefined, 'int32');
  const generateOptions = {
    maxNewTokens: Math.max(...generated.map((g) => tok.encode(g.answer).length)) + 1,
    eosId: tok.eosId,
    attentionMask: tf.tensor2d(prompts.map((p) => Array.from({ length: longest }, (_, t) => (t >= longest - p.length ? 1 : 0))), undefined, 'int32'),
  };
  const batchPrefix = tf.tidy(() =>
    model.languagePrefix(tf.stack(samples.map((s) => tf.tensor3d(Float32Array.from(s.scene.image, (v) => v / 255), [height, width, 3]))) as tf.Tensor4D),
  );
  const incrementalIds = await greedyGenerateAsync(lm, batchPrefix, promptIds, generateOptions);
  const sameIds = JSON.stringify(incrementalIds) === JSON.stringify(await greedyGenerateAsync(lm, batchPrefix, promptIds, { ...generateOptions, useCache: false }));

  const cases: Case[] = [
    {
      key: 'segmentGenerated',
      label: 'segment, generated answer',
      requests: requests.length,
      run: async () => {
        for (const r of requests) await segment(model, r.image, r.expression, { candidates: 'none' });
      },
    },
    {
      key: 'segmentGivenAnswer',
      label: 'segment, answer given (no generation)',
      requests: answered.length,
      run: async () => {
        for (const r of answered) await segment(model, r.image, r.expression, { candidates: 'none', answer: r.answer! });
      },
    },
    {
      key: 'segmentBatch',
      label: `segmentBatch of ${requests.length}, generated answers`,
      requests: requests.length,
      run: async () => {
        await segmentBatch(model, requests, { candidates: 'none' });
      },
    },
    {
      key: 'languagePrefix',
      label: 'languagePrefix (one image)',
      requests: 1,
      run: async () => {
        const prefix = model.languagePrefix(images);
        try {
          await prefix.data();
        } finally {
          prefix.dispose();
        }
      },
    },
    {
      key: 'generateIncremental',
      label: `greedyGenerateAsync of ${requests.length} answers, incremental (decoding cache)`,
      requests: requests.length,
      run: async () => {
        await greedyGenerateAsync(model.languageModel, batchPrefix, promptIds, generateOptions);
      },
    },
    {
      key: 'generateWholeSequence',
      label: `greedyGenerateAsync of ${requests.length} answers, whole sequence each step`,
      requests: requests.length,
      run: async () => {
        await greedyGenerateAsync(lm, batchPrefix, promptIds, { ...generateOptions, useCache: false });
      },
    },
    // The prefix of the given-prefix case is computed once, outside the timed window.
    { key: 'forwardPrefixGiven', label: 'forward, prefix given', requests: 1, run: () => timedForward(model, images, tokenIds, prefixForGiven) },
    { key: 'forwardPrefixComputed', label: 'forward, computing its prefix', requests: 1, run: () => timedForward(model, images, tokenIds) },
  ];

  const times: Record<string, number[]> = Object.fromEntries(cases.map((c) => [c.key, []]));
  const leaked: Record<string, number> = Object.fromEntries(cases.map((c) => [c.key, 0]));
  const loadBefore = loadavg()[0]!;
  for (const c of cases) await c.run(); // warm-up (kernel setup, allocator growth)
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      const before = tf.memory().numTensors;
      const t0 = performance.now();
      await c.run();
      times[c.key]!.push((performance.now() - t0) / c.requests);
      leaked[c.key] = Math.max(leaked[c.key]!, tf.memory().numTensors - before);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const medians = Object.fromEntries(cases.map((c) => [c.key, median(times[c.key]!)]));
  const reference = medians.segmentGenerated!;
  console.log(
    `segment() with ${dir}: ${requests.length} test requests (one per family), backend ${selection.backend}` +
      `${selection.device ? ` (${selection.device})` : ''}, ${rounds} rounds, load average ${loadBefore.toFixed(2)} → ` +
      `${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores`,
  );
  console.table(
    cases.map((c) => ({
      case: c.label,
      'median ms / request': medians[c.key]!.toFixed(1),
      '× segment (generated)': (medians[c.key]! / reference).toFixed(2),
      'tensors leaked / call': leaked[c.key],
    })),
  );
  const generation = medians.segmentGenerated! - medians.segmentGivenAnswer!;
  const reuseSaving = medians.forwardPrefixComputed! - medians.forwardPrefixGiven!;
  console.log(
    `generating the answer: ${generation.toFixed(1)} ms of ${reference.toFixed(1)} ms per request (${((100 * generation) / reference).toFixed(0)} %); ` +
      `reusing the prefix saves ${reuseSaving.toFixed(1)} ms per forward (${((100 * reuseSaving) / medians.forwardPrefixComputed!).toFixed(0)} % of it); ` +
      `batching ${requests.length} requests: ${(reference / medians.segmentBatch!).toFixed(2)}× faster per request; ` +
      `the decoding cache generates ${(medians.generateWholeSequence! / medians.generateIncremental!).toFixed(2)}× faster ` +
      `(${sameIds ? 'the same' : 'DIFFERENT'} ids)`,
  );
  tf.dispose([images, prefixForGiven, promptIds, generateOptions.attentionMask, batchPrefix]);
  model.dispose();
  console.log(
    JSON.stringify({
      checkpoint: dir,
      backend: selection.backend,
      device: selection.device ?? null,
      rounds,
      medianMsPerRequest: medians,
      overSegmentGenerated: Object.fromEntries(cases.map((c) => [c.key, medians[c.key]! / reference])),
      generationMsPerRequest: generation,
      prefixReuseSavingMs: reuseSaving,
      decodingCacheSameIds: sameIds,
      tensorsLeakedPerCall: leaked,
      answers: generated.map((g) => g.answer),
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
