/**
 * Test helpers for FlowSeg and for users' own layers (`@flowseg/core/testing`).
 * @packageDocumentation
 * @module @flowseg/core/testing
 */
export { expectNoLeaks, expectNoLeaksAsync, TensorLeakError } from './expectNoLeaks.js';
export {
  expectFiniteOrTypedError,
  RobustnessViolation,
  type RobustnessOutcome,
  type FiniteOrTypedErrorOptions,
} from './expectFiniteOrTypedError.js';
