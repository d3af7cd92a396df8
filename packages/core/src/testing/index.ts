/**
 * Test helpers for FlowSeg and for users' own layers (`@flowseg/core/testing`).
 * @packageDocumentation
 */
export { expectNoLeaks, expectNoLeaksAsync, TensorLeakError } from './expectNoLeaks.js';
