/**
 * Node-only helpers of `@flowseg/core` (`@flowseg/core/node`): file I/O that needs `node:fs`,
 * kept out of the main entry so browser bundles of core never pull in Node modules.
 * @packageDocumentation
 * @module @flowseg/core/node
 */
export {
  openSafetensorsFile,
  loadSafetensorsFile,
  saveSafetensorsFile,
  saveLayerWeightsFile,
  loadLayerWeightsFile,
} from '../weights/safetensorsFiles.js';
export { writeFileAtomic } from '../weights/writeFileAtomic.js';
export { writeDirectoryAtomic, recoverDirectory, previousDirectory, listDirectory } from '../weights/writeDirectoryAtomic.js';
