import * as tf from '@tensorflow/tfjs';
import {
  INSTRUCTION_VERBS,
  repairAnswerIds,
  segment,
  segmentationPrompt,
  type FlowSegModel,
} from '@flowseg/flowseg-model';
import type { SegmentRequest, SegmentationResult } from '../protocol.js';
import { generateGreedy } from './readBackFree.js';

/** The answer the training data uses for one target: `<p> phrase </p> <SEG>`. */
export function templateAnswer(expression: string): string {
  const prompt = segmentationPrompt(expression);
  const first = prompt.split(' ')[0]!.toLowerCase();
  // "segment the red circle" → "the red circle"; "show me the …" → "the …".
  let phrase = INSTRUCTION_VERBS.includes(first) ? prompt.slice(first.length + 1) : prompt;
  if (first === 'show' && phrase.toLowerCase().startsWith('me ')) phrase = phrase.slice(3);
  return `<p> ${phrase} </p> <SEG>`;
}

interface Answer {
  readonly text: string;
  readonly origin: 'model' | 'template';
  readonly note: string | null;
  readonly generatedIds: number[];
  readonly generateMs: number;
}

/**
 * The answer that conditions the decoder: generated greedily by the language model (reading
 * each token asynchronously, see `generateGreedy`), repaired when malformed, or the template
 * `<p> phrase </p> <SEG>` when asked for or when the generated answer has no `<SEG>`.
 */
async function chooseAnswer(model: FlowSegModel, request: SegmentRequest): Promise<Answer> {
  const tok = model.tokenizer;
  const template = templateAnswer(request.expression);
  if (request.answerMode === 'template') return { text: template, origin: 'template', note: null, generatedIds: [], generateMs: 0 };
  const start = performance.now();
  const promptIds = tok.encode(segmentationPrompt(request.expression), { addBos: true });
  const room = model.languageModel.maxPositions - model.numPrefixTokens - promptIds.length - 1;
  if (room < 1) return { text: template, origin: 'template', note: 'the instruction leaves no room for an answer', generatedIds: [], generateMs: 0 };
  const { height, width } = model.config.image;
  const imageTokens = tf.tidy(() => {
    const image = tf.tensor4d(Float32Array.from(request.image, (v) => v / 255), [1, height, width, 3]);
    return model.languagePrefix(image);
  });
  let generated: number[];
  try {
    generated = await generateGreedy(model, imageTokens, promptIds, Math.min(request.maxAnswerTokens, room), tok.eosId);
  } finally {
    imageTokens.dispose();
  }
  const generateMs = performance.now() - start;
  const end = generated.indexOf(tok.eosId);
  const repaired = repairAnswerIds(end >= 0 ? generated.slice(0, end) : generated, tok);
  if (!repaired.ids.includes(tok.segId)) {
    const said = tok.decode(generated);
    return {
      text: template,
      origin: 'template',
      note: `the language model answered "${said}", which has no <SEG> (an untrained checkpoint does this); the template answer was used`,
      generatedIds: generated,
      generateMs,
    };
  }
  const note = repaired.repairs.length > 0 ? `repaired: ${repaired.repairs.join('; ')}` : null;
  return { text: tok.decode(repaired.ids), origin: 'model', note, generatedIds: generated, generateMs };
}

/**
 * Segment one image with the library's `segment()`: the answer is chosen first (see
 * {@link chooseAnswer}) and passed as `answer`, so nothing inside reads a tensor synchronously.
 */
export async function segmentImage(model: FlowSegModel, request: SegmentRequest): Promise<Omit<SegmentationResult, 'type' | 'id'>> {
  const total = performance.now();
  const answer = await chooseAnswer(model, request);
  const start = performance.now();
  const segmentation = await segment(
    model,
    { rgb: request.image, width: request.width, height: request.height },
    request.expression,
    { answer: answer.text, candidates: 'mask' },
  );
  const segmentMs = performance.now() - start;
  return {
    backend: tf.getBackend(),
    segmentation,
    answerOrigin: answer.origin,
    answerNote: answer.note,
    generatedIds: answer.generatedIds,
    timings: { generateMs: answer.generateMs, segmentMs, totalMs: performance.now() - total },
  };
}
