/**
 * `@flowseg/bar-head`: Boundary-Aware Refinement of mask logits
 * @packageDocumentation
 */
export {};
