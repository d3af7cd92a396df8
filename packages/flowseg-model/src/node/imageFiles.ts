import { readFile } from 'node:fs/promises';
import { ValueError } from '@flowseg/core';
import { writeFileAtomic } from '@flowseg/core/node';
import { decodePng, encodeMaskPng, encodeRgbPng, type DecodePngOptions } from '../image/png.js';
import type { BinaryMask, RgbImage } from '../image/imageTypes.js';

/**
 * Read a PNG file as an {@link RgbImage} (see `decodePng` for the colour types accepted).
 * @param argument - name used in error messages (e.g. `--image`).
 * @throws ValueError naming `argument` and the path when the file is missing, unreadable or not a PNG.
 */
export async function readPngFile(path: string, options: DecodePngOptions = {}, argument = 'path'): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file' : (e as Error).message;
    throw new ValueError(`${argument}: ${path}: ${why}`, argument);
  }
  return decodePng(bytes, options, `${argument} ${path}`);
}

/** Write an {@link RgbImage} as an RGB PNG file, atomically (temporary file + rename). */
export async function writeRgbPngFile(path: string, image: RgbImage): Promise<void> {
  await writeFileAtomic(path, encodeRgbPng(image));
}

/** Write a {@link BinaryMask} as a greyscale PNG file (0 / 255), atomically. */
export async function writeMaskPngFile(path: string, mask: BinaryMask): Promise<void> {
  await writeFileAtomic(path, encodeMaskPng(mask));
}
