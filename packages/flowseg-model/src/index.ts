/**
 * `@flowseg/flowseg-model`: The assembled FlowSeg system: encoders, language model, decoder with BSF, BAR, selection, training, checkpoints and CLI
 * @packageDocumentation
 */
export {};
