import { mkdir, open, rename, rm, stat, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ValueError } from '../errors/FlowSegError.js';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The folder a previous directory swap left behind: `<dir>.previous`. */
export function previousDirectory(dir: string): string {
  return `${dir}.previous`;
}

/**
 * Write a whole directory of files so that a reader sees either the old directory or the
 * new one, never a mix: the files are written and fsynced into `<dir>.saving`, then the
 * old directory is renamed to `<dir>.previous`, the new one to `<dir>`, and the previous
 * one removed. If the process dies between the two renames, `<dir>` is missing and
 * `<dir>.previous` holds the complete old version; {@link recoverDirectory} restores it.
 *
 * @param files - file name (no path separators) → contents.
 */
export async function writeDirectoryAtomic(dir: string, files: ReadonlyMap<string, Uint8Array | string>): Promise<void> {
  for (const name of files.keys()) {
    if (name.length === 0 || name !== basename(name) || name === '.' || name === '..') {
      throw new ValueError(`files: "${name}" is not a plain file name`, 'files');
    }
  }
  await recoverDirectory(dir);
  await mkdir(dirname(dir), { recursive: true });
  const saving = `${dir}.saving`;
  await rm(saving, { recursive: true, force: true });
  await mkdir(saving);
  for (const [name, data] of files) {
    const handle = await open(join(saving, name), 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  const previous = previousDirectory(dir);
  const hadOld = await exists(dir);
  if (hadOld) await rename(dir, previous);
  await rename(saving, dir);
  if (hadOld) await rm(previous, { recursive: true, force: true });
}

/**
 * Finish or undo an interrupted {@link writeDirectoryAtomic}: when `<dir>` is missing but
 * `<dir>.previous` exists, the previous version is put back; a stale `<dir>.saving` is removed.
 * @returns true when something was restored.
 */
export async function recoverDirectory(dir: string): Promise<boolean> {
  const previous = previousDirectory(dir);
  let restored = false;
  if (!(await exists(dir)) && (await exists(previous))) {
    await rename(previous, dir);
    restored = true;
  } else if (await exists(previous)) {
    await rm(previous, { recursive: true, force: true });
  }
  const saving = `${dir}.saving`;
  if (await exists(saving)) await rm(saving, { recursive: true, force: true });
  return restored;
}

/** Names of the files in a directory (empty when it does not exist). */
export async function listDirectory(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}
