import type { SegmentResult } from '@flowseg/flowseg-model';

/**
 * Messages between the page (main thread) and the model worker. The worker owns TensorFlow.js
 * and the model; the page only draws, so it stays responsive while the model runs.
 */

/** Backends the page may ask for; `auto` tries webgpu, webgl, wasm, cpu in that order. */
export type BackendRequest = 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** How the answer (`<p> … </p> <SEG>`) that conditions the decoder is obtained. */
export type AnswerMode =
  /** The language model generates it greedily; the template is used if it emits no `<SEG>`. */
  | 'generate'
  /** Always the template `<p> expression </p> <SEG>` (teacher forcing). */
  | 'template';

/** Page → worker: start a backend and load a checkpoint. */
export interface InitRequest {
  readonly type: 'init';
  /** Absolute URL of the checkpoint folder. */
  readonly checkpointUrl: string;
  /** Absolute URL of the folder holding tfjs-backend-wasm's `.wasm` files. */
  readonly wasmUrl: string;
  /** Requested backend. */
  readonly backend: BackendRequest;
}

/** Page → worker: segment one image. */
export interface SegmentRequest {
  readonly type: 'segment';
  /** Request id, echoed in the reply. */
  readonly id: number;
  /** RGB bytes `[height, width, 3]` at the model's image size. */
  readonly image: Uint8Array;
  /** Image width (must equal the model's). */
  readonly width: number;
  /** Image height (must equal the model's). */
  readonly height: number;
  /** Referring expression (`the small red circle`) or a whole instruction (`segment the …`). */
  readonly expression: string;
  /** Where the answer comes from. */
  readonly answerMode: AnswerMode;
  /** Most answer tokens to generate. */
  readonly maxAnswerTokens: number;
}

/** Page → worker messages. */
export type WorkerRequest = InitRequest | SegmentRequest;

/** Worker → page: the backend is up and the model loaded. */
export interface ReadyMessage {
  readonly type: 'ready';
  /** Backend in use (`tf.getBackend()`). */
  readonly backend: string;
  /** Why this backend (from `selectBackend`). */
  readonly reason: string;
  /** GPU adapter (e.g. `google swiftshader`), when known. */
  readonly device: string | null;
  /** Backends tried first and why each failed (empty when the first choice started). */
  readonly skipped: readonly { readonly backend: string; readonly error: string }[];
  /** The model's input size. */
  readonly imageSize: { readonly height: number; readonly width: number };
  /** Candidate mask size `[maskHeight, maskWidth]`. */
  readonly maskSize: readonly [number, number];
  /** Number of candidates (decoder queries). */
  readonly numQueries: number;
  /** Parameter count. */
  readonly parameters: number;
  /** Checkpoint metadata (`config.json` → `metadata`). */
  readonly metadata: Record<string, unknown>;
  /** Milliseconds to start the backend and load the checkpoint. */
  readonly loadMs: number;
}

/** Worker → page: one segmentation. */
export interface SegmentationResult {
  readonly type: 'result';
  /** Request id. */
  readonly id: number;
  /** Backend that ran it. */
  readonly backend: string;
  /** What `segment()` of `@flowseg/flowseg-model` returned (plain arrays: masks, logits, scores). */
  readonly segmentation: SegmentResult;
  /** `model` when the language model's generated answer was used, `template` otherwise. */
  readonly answerOrigin: 'model' | 'template';
  /** Why the template was used, or what was repaired in the generated answer. */
  readonly answerNote: string | null;
  /** Generated answer ids before any repair (empty in template mode). */
  readonly generatedIds: readonly number[];
  /** Milliseconds: answer generation, segmentation (forward pass and read-back), whole request. */
  readonly timings: { readonly generateMs: number; readonly segmentMs: number; readonly totalMs: number };
}

/** Worker → page: something failed. */
export interface ErrorMessage {
  readonly type: 'error';
  /** Request id, or `null` for a failure while starting. */
  readonly id: number | null;
  /** What failed, for the page. */
  readonly message: string;
}

/** Worker → page messages. */
export type WorkerMessage = ReadyMessage | SegmentationResult | ErrorMessage;
