/**
 * `@flowseg/bsf-layer`: Bidirectional Semantic Flow (semantic refinement, gate, condition refinement) as a drop-in decoder layer
 * @packageDocumentation
 */
export {};
