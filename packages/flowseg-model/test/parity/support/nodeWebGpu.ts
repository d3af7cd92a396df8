import { existsSync } from 'node:fs';

/** The SwiftShader Vulkan ICD Debian's chromium package ships (Dawn's driver on a machine without a GPU). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Why Node WebGPU cannot be tried here, or `null` when it can: the ICD comes with the chromium
 * package, which `.ci/run` installs (`apt-get install -y chromium libvulkan1`).
 */
export function nodeWebGpuUnavailable(): string | null {
  return existsSync(SWIFTSHADER_ICD)
    ? null
    : `Node WebGPU skipped: ${SWIFTSHADER_ICD} is missing (apt-get install -y chromium libvulkan1 provides it)`;
}
