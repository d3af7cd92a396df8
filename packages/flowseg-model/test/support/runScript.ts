import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The flowseg-model package folder. */
export const packageDir = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Run one of the package's `scripts/*.ts` (or, with `folder`, `<folder>/*.ts`, e.g. `bench`) with
 * tsx in a child process; resolves with its stdout, rejects with its error and the tail of its stderr.
 */
export function runScript(script: string, args: readonly string[], folder = 'scripts'): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(packageDir, folder, script), ...args],
      { cwd: packageDir, timeout: 600_000, env: { ...process.env, TSX_TSCONFIG_PATH: join(packageDir, '../../tsconfig.json') } },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr.slice(-2000)}`)) : resolve(stdout)),
    );
  });
}
