import { existsSync } from 'node:fs';

/** The SwiftShader Vulkan ICD Debian's chromium package ships (Dawn's driver on a machine without a GPU). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * The Vulkan ICD the Node WebGPU tests run on: `FLOWSEG_TEST_VULKAN_ICD` when set (a real GPU's
 * driver, e.g. `/usr/share/vulkan/icd.d/nvidia_icd.json`), else SwiftShader.
 */
export const NODE_WEBGPU_ICD = process.env['FLOWSEG_TEST_VULKAN_ICD'] || SWIFTSHADER_ICD;

/**
 * Why Node WebGPU cannot be tried here, or `null` when it can: the SwiftShader ICD comes with the
 * chromium package, which `.ci/run` installs (`apt-get install -y chromium libvulkan1`).
 */
export function nodeWebGpuUnavailable(): string | null {
  if (existsSync(NODE_WEBGPU_ICD)) return null;
  return NODE_WEBGPU_ICD === SWIFTSHADER_ICD
    ? `Node WebGPU skipped: ${SWIFTSHADER_ICD} is missing (apt-get install -y chromium libvulkan1 provides it)`
    : `Node WebGPU skipped: FLOWSEG_TEST_VULKAN_ICD=${NODE_WEBGPU_ICD} does not exist`;
}
