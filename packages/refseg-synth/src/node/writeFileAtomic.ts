import { rename, rm, writeFile } from 'node:fs/promises';

let counter = 0;

/** Writes a file via a temporary sibling and a rename, so readers never see a partial file. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.${counter++}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
