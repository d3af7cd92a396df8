import { FlowSegError } from '../errors/FlowSegError.js';

/**
 * A tensor argument's shape does not match its documented named axes.
 *
 * The message names the argument, the expected axes (with any sizes already bound by
 * other arguments) and the shape that arrived, e.g.
 * `queries: expected [batch=2, queries, channels=256], received [2, 100, 128] (channels: 128 ≠ 256)`.
 */
export class ShapeError extends FlowSegError {
  /**
   * @param argument - name of the offending argument.
   * @param expected - human-readable expected axes.
   * @param received - the shape that arrived.
   * @param detail - what exactly disagrees.
   */
  constructor(
    argument: string,
    readonly expected: string,
    readonly received: readonly number[],
    detail: string,
  ) {
    super(`${argument}: expected ${expected}, received [${received.join(', ')}] (${detail})`, argument);
  }
}
