/**
 * Base class of every error thrown on purpose by FlowSeg packages, so callers can tell
 * a FlowSeg input/validation error from a failure inside TensorFlow.js.
 */
export class FlowSegError extends Error {
  /**
   * @param message - human-readable explanation.
   * @param argument - the public argument (or config field) that was wrong, if any.
   */
  constructor(
    message: string,
    readonly argument?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A value (config field, option, scalar argument) is outside what the callee accepts. */
export class ValueError extends FlowSegError {}

/** A tensor arrived with a dtype the callee does not accept. */
export class DTypeError extends FlowSegError {
  /**
   * @param argument - name of the tensor argument.
   * @param expected - accepted dtypes.
   * @param received - the dtype that arrived.
   */
  constructor(
    argument: string,
    readonly expected: readonly string[],
    readonly received: string,
  ) {
    super(`${argument}: expected dtype ${expected.join(' | ')}, received ${received}`, argument);
  }
}

/** Reading or writing weights (safetensors, checkpoints, layer weight maps) failed. */
export class WeightsError extends FlowSegError {}
