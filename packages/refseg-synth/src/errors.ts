/**
 * A generator option, split name, family, index or count is outside what the generator accepts.
 *
 * Local to this package on purpose: `@flowseg/core`'s `ValueError` would pull TensorFlow.js
 * into a package that is meant to run anywhere without it.
 */
export class SynthValueError extends Error {
  /**
   * @param message - human-readable explanation.
   * @param argument - the option or argument that was wrong.
   */
  constructor(
    message: string,
    readonly argument?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
