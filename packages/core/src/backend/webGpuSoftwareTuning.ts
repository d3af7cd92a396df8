import * as tf from '@tensorflow/tfjs';

/** tfjs-backend-webgpu's `MatMulProgramType.MatMulPackedProgram` (webgpu_util.ts). */
const MATMUL_PACKED_PROGRAM = 3;
/** The flag's default: let TF.js pick a program per shape. */
const MATMUL_PROGRAM_AUTO = -1;

/** Whether an adapter description names a CPU emulation of a GPU. */
export function isSoftwareAdapterName(description: string): boolean {
  return /swiftshader|lavapipe|llvmpipe/i.test(description);
}

/**
 * Settings for tfjs-backend-webgpu on a CPU-emulated adapter (SwiftShader). For small products
 * TF.js picks `MatMulReduceProgram` (a workgroup-barrier tree reduction per output), which
 * SwiftShader runs ~1000× slower than the tiled `MatMulPackedProgram`: 100 products
 * `[8,16]·[16,16]` took 23 s against 27 ms (Dawn for Node, SwiftShader ICD). The packed program
 * gives the same results, so it is forced here unless the user set the flag already.
 * Call after tfjs-backend-webgpu is loaded (it registers the flag).
 *
 * @returns true when the flag was changed.
 */
export function tuneWebGpuForSoftwareAdapter(): boolean {
  const env = tf.env();
  if (env.getNumber('WEBGPU_MATMUL_PROGRAM_TYPE') !== MATMUL_PROGRAM_AUTO) return false;
  env.set('WEBGPU_MATMUL_PROGRAM_TYPE', MATMUL_PACKED_PROGRAM);
  return true;
}
