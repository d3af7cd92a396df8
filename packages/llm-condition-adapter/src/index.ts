/**
 * `@flowseg/llm-condition-adapter`: Condition (C) and segmentation (S) embeddings for FlowSeg from any language model's hidden states
 * @packageDocumentation
 */
export {};
