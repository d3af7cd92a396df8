import { PNG } from 'pngjs';
import { ValueError } from '@flowseg/core';
import { checkBinaryMask, checkRgbImage, type BinaryMask, type RgbColor, type RgbImage } from './imageTypes.js';

/** Options of {@link decodePng}. */
export interface DecodePngOptions {
  /**
   * Composite transparent pixels over this colour (`out = α·rgb + (1 − α)·background`).
   * Default: none — the stored colour is kept and alpha is ignored.
   */
  readonly background?: RgbColor;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Decode a PNG file's bytes to an {@link RgbImage}. Every colour type pngjs reads is accepted:
 * greyscale (grey copied to R, G, B), palette, RGB, with or without alpha (`tRNS` included),
 * 8- or 16-bit (16-bit rescaled to 8). Node only (uses `pngjs`).
 * @param argument - name used in error messages (e.g. the CLI's `--image`).
 * @throws ValueError naming `argument` when the bytes are not a readable PNG or the image is empty.
 */
export function decodePng(bytes: Uint8Array, options: DecodePngOptions = {}, argument = 'image'): RgbImage {
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`${argument}: expected PNG bytes (Uint8Array)`, argument);
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new ValueError(
      `${argument}: not a PNG file (${bytes.length === 0 ? 'it is empty' : 'the PNG signature is missing'})`,
      argument,
    );
  }
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new ValueError(`${argument}: unreadable PNG (${(e as Error).message})`, argument);
  }
  const { width, height, data } = png;
  if (!(width > 0 && height > 0)) throw new ValueError(`${argument}: the PNG has zero size (${width}×${height})`, argument);
  const background = options.background;
  if (background !== undefined && (!Array.isArray(background) || background.length !== 3 || background.some((c) => !(c >= 0 && c <= 255)))) {
    throw new ValueError(`background: expected [r, g, b] in [0, 255], received ${JSON.stringify(background)}`, 'background');
  }
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const alpha = data[i * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) {
      const v = data[i * 4 + c]!;
      rgb[i * 3 + c] = background ? Math.round(alpha * v + (1 - alpha) * background[c]!) : v;
    }
  }
  return { rgb, width, height };
}

/** Encode an {@link RgbImage} as an 8-bit RGB PNG. Node only. */
export function encodeRgbPng(image: RgbImage): Uint8Array {
  checkRgbImage(image, 'image');
  const png = new PNG({ width: image.width, height: image.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength);
  return new Uint8Array(PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }));
}

/** Encode a {@link BinaryMask} as an 8-bit greyscale PNG: 255 inside, 0 outside. Node only. */
export function encodeMaskPng(mask: BinaryMask): Uint8Array {
  checkBinaryMask(mask, 'mask');
  const grey = Buffer.alloc(mask.width * mask.height);
  for (let i = 0; i < grey.length; i++) grey[i] = mask.data[i] ? 255 : 0;
  const png = new PNG({ width: mask.width, height: mask.height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = grey;
  return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
}
