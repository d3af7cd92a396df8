import * as tf from '@tensorflow/tfjs';
import { DTypeError, ValueError } from '@flowseg/core';
import { ONNX_ELEMENT_TYPES, type OnnxElementType } from '../proto/onnxProto.js';
import { checkTypedTensor, onnxTypeOfTf, type OnnxTypedArray, type OnnxTypedTensor } from '../graph/tensorData.js';
import {
  defaultOnnxRuntime,
  loadOnnxRuntime,
  type OnnxRuntimeModule,
  type OnnxRuntimeName,
  type OrtSessionLike,
  type OrtTensorLike,
} from './loadOnnxRuntime.js';

/** Options of {@link OnnxSession.create}. */
export interface OnnxSessionOptions {
  /** `'node'` (onnxruntime-node; default under Node.js) or `'web'` (onnxruntime-web; default elsewhere). */
  readonly runtime?: OnnxRuntimeName;
  /** Import this specifier instead of the runtime's package name (e.g. `'onnxruntime-web/webgpu'`). */
  readonly moduleSpecifier?: string;
  /** An already imported ONNX Runtime module (skips the dynamic import; for bundlers). */
  readonly module?: OnnxRuntimeModule;
  /**
   * Threads inside one operator (default: ONNX Runtime's, i.e. the physical cores). With
   * onnxruntime-web this sets the global `env.wasm.numThreads`, which only takes effect
   * before its first session.
   */
  readonly intraOpNumThreads?: number;
  /** Threads across independent operators (onnxruntime-node). */
  readonly interOpNumThreads?: number;
  /**
   * Whether idle intra-op threads spin-wait for work (onnxruntime-node's
   * `session.intra_op.allow_spinning`; default: ONNX Runtime's, which spins). Spinning saves
   * a little latency on an idle machine; on a busy one it steals the cores other work needs
   * (on the shared 2-core development machine, 2-thread medians of the FlowSeg model went from
   * ~90 ms to ~12 ms with `false`). Ignored by onnxruntime-web.
   */
  readonly allowSpinning?: boolean;
  /** Graph optimizations before running (default `'all'`). */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Execution providers in order of preference (default `['cpu']` for node, `['wasm']` for web). */
  readonly executionProviders?: readonly string[];
}

/** A feed: a TF.js tensor (float32, int32, bool) or a typed tensor of any {@link OnnxElementType}. */
export type OnnxFeed = tf.Tensor | OnnxTypedTensor;

/** Options of {@link OnnxSession.run} and {@link OnnxSession.runTyped}. */
export interface OnnxRunOptions {
  /** Outputs to compute (default: all). */
  readonly outputs?: readonly string[];
}

function positiveInt(value: number | undefined, argument: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new ValueError(`${argument}: expected a positive integer, received ${value}`, argument);
  }
}

/** Element types {@link OnnxSession.run} returns as TF.js tensors. */
const TF_OUTPUT_TYPES: readonly OnnxElementType[] = ['float32', 'int32', 'bool'];

/**
 * An ONNX model loaded into ONNX Runtime, run with TF.js tensors or typed arrays.
 *
 * The runtime is an optional peer dependency imported on first use: `onnxruntime-node` in
 * Node (native CPU kernels, multi-threaded), `onnxruntime-web` in browsers.
 *
 * @example
 * ```ts
 * const session = await OnnxSession.create(exportOnnx(mha), { intraOpNumThreads: 2 });
 * const { output } = await session.run({ query, key, value }); // tf.Tensors in, tf.Tensors out
 * await session.release();
 * ```
 */
export class OnnxSession {
  /** Runtime in use. */
  readonly runtime: OnnxRuntimeName;
  private readonly ort: OnnxRuntimeModule;
  private readonly session: OrtSessionLike;
  private released = false;

  private constructor(runtime: OnnxRuntimeName, ort: OnnxRuntimeModule, session: OrtSessionLike) {
    this.runtime = runtime;
    this.ort = ort;
    this.session = session;
  }

  /**
   * Load a model: `.onnx` bytes, or a path (Node) / URL (browser). Throws
   * `OnnxRuntimeUnavailableError` when the runtime package cannot be imported.
   */
  static async create(model: Uint8Array | string, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
    if (!((model instanceof Uint8Array || typeof model === 'string') && model.length > 0)) {
      throw new ValueError('model: expected non-empty ONNX bytes (Uint8Array) or a path/URL', 'model');
    }
    const runtime = options.runtime ?? defaultOnnxRuntime();
    if (runtime !== 'node' && runtime !== 'web') {
      throw new ValueError(`runtime: expected 'node' or 'web', received ${JSON.stringify(runtime)}`, 'runtime');
    }
    positiveInt(options.intraOpNumThreads, 'intraOpNumThreads');
    positiveInt(options.interOpNumThreads, 'interOpNumThreads');
    if (options.allowSpinning !== undefined && typeof options.allowSpinning !== 'boolean') {
      throw new ValueError(`allowSpinning: expected a boolean, received ${String(options.allowSpinning)}`, 'allowSpinning');
    }
    const level = options.graphOptimizationLevel ?? 'all';
    if (!['disabled', 'basic', 'extended', 'all'].includes(level)) {
      throw new ValueError(`graphOptimizationLevel: expected disabled | basic | extended | all, received ${String(level)}`, 'graphOptimizationLevel');
    }
    const ort = options.module ?? (await loadOnnxRuntime(runtime, options.moduleSpecifier));
    if (runtime === 'web' && options.intraOpNumThreads !== undefined && ort.env?.wasm) {
      ort.env.wasm.numThreads = options.intraOpNumThreads;
    }
    const sessionOptions: Record<string, unknown> = {
      executionProviders: [...(options.executionProviders ?? (runtime === 'node' ? ['cpu'] : ['wasm']))],
      graphOptimizationLevel: level,
      ...(runtime === 'node' && options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
      ...(options.interOpNumThreads !== undefined ? { interOpNumThreads: options.interOpNumThreads } : {}),
      ...(runtime === 'node' && options.allowSpinning !== undefined
        ? { extra: { session: { intra_op: { allow_spinning: options.allowSpinning ? '1' : '0' } } } }
        : {}),
    };
    const session = await ort.InferenceSession.create(model, sessionOptions);
    return new OnnxSession(runtime, ort, session);
  }

  /** Graph input names. */
  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** Graph output names. */
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Run and return the outputs as typed tensors (any element type, no TF.js involved). */
  async runTyped(feeds: Readonly<Record<string, OnnxFeed>>, options: OnnxRunOptions = {}): Promise<Record<string, OnnxTypedTensor>> {
    if (this.released) throw new ValueError('this session was released', 'session');
    const fetches = options.outputs ?? this.outputNames;
    for (const o of fetches) {
      if (!this.outputNames.includes(o)) {
        throw new ValueError(`outputs: the model has no output "${o}" (outputs: ${this.outputNames.join(', ')})`, 'outputs');
      }
    }
    if (feeds === null || typeof feeds !== 'object') throw new ValueError('feeds: expected an object of named inputs', 'feeds');
    for (const name of Object.keys(feeds)) {
      if (!this.inputNames.includes(name)) {
        throw new ValueError(`feeds: the model has no input "${name}" (inputs: ${this.inputNames.join(', ')})`, 'feeds');
      }
    }
    const ortFeeds: Record<string, OrtTensorLike> = {};
    // One download per tf.Tensor, even when it feeds several inputs (key = value).
    const converted = new Map<OnnxFeed, OrtTensorLike>();
    for (const name of this.inputNames) {
      const feed = feeds[name];
      if (feed === undefined) throw new ValueError(`feeds: input "${name}" is missing (inputs: ${this.inputNames.join(', ')})`, 'feeds');
      let tensor = converted.get(feed);
      if (!tensor) {
        const typed = await toTyped(feed, `feeds.${name}`);
        tensor = new this.ort.Tensor(typed.dtype, typed.data, typed.dims);
        converted.set(feed, tensor);
      }
      ortFeeds[name] = tensor;
    }
    const results = await this.session.run(ortFeeds, fetches);
    const out: Record<string, OnnxTypedTensor> = {};
    for (const name of fetches) {
      const r = results[name]!;
      if (!ONNX_ELEMENT_TYPES.includes(r.type as OnnxElementType)) {
        throw new DTypeError(`output ${name}`, ONNX_ELEMENT_TYPES, r.type);
      }
      out[name] = { dtype: r.type as OnnxElementType, dims: [...r.dims], data: r.data as OnnxTypedArray };
    }
    return out;
  }

  /**
   * Run and return the outputs as TF.js tensors (the caller disposes them). Outputs must be
   * float32, int32 or bool; use {@link OnnxSession.runTyped} for other element types.
   */
  async run(feeds: Readonly<Record<string, OnnxFeed>>, options: OnnxRunOptions = {}): Promise<Record<string, tf.Tensor>> {
    const typed = await this.runTyped(feeds, options);
    for (const [name, t] of Object.entries(typed)) {
      if (!TF_OUTPUT_TYPES.includes(t.dtype)) {
        throw new DTypeError(`output ${name} (TF.js has no ${t.dtype}; use runTyped)`, TF_OUTPUT_TYPES, t.dtype);
      }
    }
    const out: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(typed)) {
      out[name] = tf.tensor(t.data as Float32Array | Int32Array | Uint8Array, [...t.dims], t.dtype as 'float32' | 'int32' | 'bool');
    }
    return out;
  }

  /** Free the native session; the object cannot run afterwards. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

async function toTyped(feed: OnnxFeed, argument: string): Promise<OnnxTypedTensor> {
  if (feed instanceof tf.Tensor) {
    if (feed.isDisposed) throw new ValueError(`${argument}: the tensor is disposed`, argument);
    const dtype = onnxTypeOfTf(feed.dtype, argument);
    const values = await feed.data();
    const data = dtype === 'bool' ? (values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>)) : (values as Float32Array | Int32Array);
    return { dtype, dims: feed.shape, data };
  }
  if (feed && typeof feed === 'object' && 'dtype' in feed && 'data' in feed) return checkTypedTensor(feed, argument);
  throw new ValueError(`${argument}: expected a tf.Tensor or { dtype, dims, data }`, argument);
}
