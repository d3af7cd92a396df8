/**
 * `@flowseg/refseg-synth`: a seeded synthetic referring-segmentation benchmark.
 * @packageDocumentation
 */
export {};
