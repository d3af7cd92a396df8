import * as tf from '@tensorflow/tfjs';
import { DTypeError, ValueError, WeightsError } from '../errors/FlowSegError.js';

/** Configuration of {@link AdamW}. */
export interface AdamWConfig {
  /** Base learning rate (the paper: 4e-5). A schedule may override it per step. */
  learningRate: number;
  /** First-moment decay (default 0.9). */
  beta1?: number;
  /** Second-moment decay (default 0.999). */
  beta2?: number;
  /** Added to the root of the second moment (default 1e-8). */
  epsilon?: number;
  /** Decoupled weight decay (the paper: 0.05; default 0.01). */
  weightDecay?: number;
  /**
   * Which parameters are decayed, by name (default: every parameter except biases and
   * normalization weights, i.e. names not ending in `bias` and not containing `norm`).
   */
  decays?: (name: string) => boolean;
}

/** Default decay filter: every parameter except biases and normalization weights. */
function defaultDecays(name: string): boolean {
  return !/(^|\.)bias$/.test(name) && !/norm/i.test(name);
}

/**
 * AdamW (Loshchilov & Hutter): Adam with weight decay decoupled from the gradient,
 * `w ← w − lr·(m̂ / (√v̂ + ε) + λ·w)`, as `torch.optim.AdamW`. TF.js has no AdamW, and its Adam
 * keys state by list position; this one keys moments by parameter name so optimizer state
 * can be checkpointed and resumed by name ({@link AdamW.state}, {@link AdamW.loadState}).
 */
export class AdamW {
  /** Base learning rate. */
  readonly learningRate: number;
  /** First-moment decay. */
  readonly beta1: number;
  /** Second-moment decay. */
  readonly beta2: number;
  /** Numerical-stability term. */
  readonly epsilon: number;
  /** Decoupled weight-decay factor. */
  readonly weightDecay: number;
  private readonly decays: (name: string) => boolean;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;

  constructor(config: AdamWConfig) {
    const check = (name: string, value: number, ok: boolean) => {
      if (!ok) throw new ValueError(`${name}: received ${value}`, name);
    };
    check('learningRate', config.learningRate, config.learningRate > 0 && Number.isFinite(config.learningRate));
    this.learningRate = config.learningRate;
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.999;
    this.epsilon = config.epsilon ?? 1e-8;
    this.weightDecay = config.weightDecay ?? 0.01;
    check('beta1', this.beta1, this.beta1 >= 0 && this.beta1 < 1);
    check('beta2', this.beta2, this.beta2 >= 0 && this.beta2 < 1);
    check('epsilon', this.epsilon, this.epsilon > 0);
    check('weightDecay', this.weightDecay, this.weightDecay >= 0 && Number.isFinite(this.weightDecay));
    this.decays = config.decays ?? defaultDecays;
  }

  /** Steps taken so far. */
  get step(): number {
    return this.t;
  }

  /**
   * One update of every parameter that has a gradient.
   * @param params - parameters by stable name.
   * @param grads - gradients by the same names (missing or null: parameter skipped).
   * @param learningRate - this step's rate (default: the base rate).
   */
  apply(
    params: ReadonlyMap<string, tf.Variable>,
    grads: ReadonlyMap<string, tf.Tensor | null | undefined> | Record<string, tf.Tensor | null | undefined>,
    learningRate = this.learningRate,
  ): void {
    if (!(learningRate >= 0) || !Number.isFinite(learningRate)) {
      throw new ValueError(`learningRate: expected a finite rate ≥ 0, received ${learningRate}`, 'learningRate');
    }
    const gradOf = (name: string) => (grads instanceof Map ? grads.get(name) : (grads as Record<string, tf.Tensor>)[name]);
    // Check every gradient before touching anything: a refusal halfway through would leave
    // some weights and moments updated, others not, and the step count advanced.
    for (const [name, w] of params) {
      const g = gradOf(name);
      if (!g) continue;
      if (g.dtype !== 'float32') throw new DTypeError(`grads.${name}`, ['float32'], g.dtype);
      if (!tf.util.arraysEqual(g.shape, w.shape)) {
        throw new ValueError(`grads.${name}: expected shape [${w.shape}], received [${g.shape}]`, 'grads');
      }
    }
    this.t += 1;
    const c1 = 1 - Math.pow(this.beta1, this.t);
    const c2 = 1 - Math.pow(this.beta2, this.t);
    tf.tidy(() => {
      for (const [name, w] of params) {
        const g = gradOf(name);
        if (!g) continue;
        const m = this.moment(this.m, name, w);
        const v = this.moment(this.v, name, w);
        const mNew = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const vNew = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        m.assign(mNew);
        v.assign(vNew);
        const update = tf.div(tf.div(mNew, c1), tf.add(tf.sqrt(tf.div(vNew, c2)), this.epsilon));
        const decayed = this.weightDecay > 0 && this.decays(name) ? tf.mul(w, 1 - learningRate * this.weightDecay) : w;
        w.assign(tf.sub(decayed, tf.mul(update, learningRate)));
      }
    });
  }

  private moment(store: Map<string, tf.Variable>, name: string, like: tf.Variable): tf.Variable {
    let s = store.get(name);
    if (!s) {
      s = tf.tidy(() => tf.variable(tf.zerosLike(like), false));
      store.set(name, s);
    }
    return s;
  }

  /**
   * Optimizer state as named tensors (copies): `step` (int32 scalar), `m.<name>`, `v.<name>`.
   * Save it next to the weights to resume training exactly.
   */
  state(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>([['step', tf.scalar(this.t, 'int32')]]);
    for (const [k, s] of this.m) out.set(`m.${k}`, tf.clone(s));
    for (const [k, s] of this.v) out.set(`v.${k}`, tf.clone(s));
    return out;
  }

  /**
   * Restore state written by {@link AdamW.state} (the tensors are copied, not kept).
   * Checks everything before changing anything.
   * @throws WeightsError naming malformed entries.
   */
  loadState(state: ReadonlyMap<string, tf.Tensor>): void {
    const step = state.get('step');
    if (!step || step.size !== 1) throw new WeightsError('optimizer state: missing scalar "step"', 'state');
    const bad = [...state.keys()].filter((k) => k !== 'step' && !/^[mv]\./.test(k));
    if (bad.length > 0) throw new WeightsError(`optimizer state: unexpected entries ${bad.join(', ')}`, 'state');
    const t = step.dataSync()[0]!;
    if (!Number.isInteger(t) || t < 0) throw new WeightsError(`optimizer state: bad step ${t}`, 'state');
    this.disposeState();
    for (const [k, tensor] of state) {
      if (k === 'step') continue;
      const store = k.startsWith('m.') ? this.m : this.v;
      store.set(k.slice(2), tf.variable(tf.cast(tensor, 'float32'), false));
    }
    this.t = t;
  }

  /** Free the moment tensors (the optimizer starts fresh afterwards). */
  disposeState(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
    this.m.clear();
    this.v.clear();
    this.t = 0;
  }
}
