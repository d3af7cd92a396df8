import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The browser example's folder. */
export const EXAMPLE_DIR = fileURLToPath(new URL('../../../../../examples/browser-webgpu/', import.meta.url));

/** Its build output (served by the test). */
export const EXAMPLE_DIST = `${EXAMPLE_DIR}dist`;

/**
 * Run the example's own `build` script (prepare the wasm binaries and checkpoint, then
 * `vite build`), as a user or CI would.
 * @throws Error with the build's output when it fails.
 */
export async function buildExample(): Promise<void> {
  try {
    await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: EXAMPLE_DIR, maxBuffer: 16 << 20, timeout: 180_000 });
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`building examples/browser-webgpu failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`.slice(0, 4000));
  }
}
