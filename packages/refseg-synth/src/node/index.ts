/**
 * `@flowseg/refseg-synth/node`: Node-only PNG + JSON export and import of the benchmark
 * (uses `pngjs` and `node:fs`).
 * @packageDocumentation
 * @module @flowseg/refseg-synth/node
 */
export { encodeRgbPng, encodeGrayPng, decodePng } from './png.js';
export type { DecodedPng } from './png.js';
export { writeFileAtomic } from './writeFileAtomic.js';
export { MANIFEST_FORMAT } from './manifest.js';
export type { ExportManifest, ManifestEntry, ManifestTarget } from './manifest.js';
export { exportSamples, exportSplit } from './exportSplit.js';
export type { ExportOptions } from './exportSplit.js';
export { readManifest, readExportedSample, readExportedSplit } from './readExportedSplit.js';
export type { ExportedSample, ExportedSplit } from './readExportedSplit.js';
