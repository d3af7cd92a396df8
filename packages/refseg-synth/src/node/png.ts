import { PNG } from 'pngjs';
import { SynthValueError } from '../errors.js';

/** Encodes an RGB image `[height, width, 3]` as an 8-bit RGB PNG. */
export function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Buffer {
  checkLength('rgb', rgb, width * height * 3);
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** Encodes a one-channel image `[height, width]` (a mask scaled to 0/255, or an instance map) as an 8-bit greyscale PNG. */
export function encodeGrayPng(gray: Uint8Array, width: number, height: number): Buffer {
  checkLength('gray', gray, width * height);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.from(gray.buffer, gray.byteOffset, gray.byteLength);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

/** A decoded PNG. */
export interface DecodedPng {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** RGB pixels `[height, width, 3]`. */
  readonly rgb: Uint8Array;
  /** First channel `[height, width]` (the grey value for greyscale PNGs). */
  readonly gray: Uint8Array;
}

/** Decodes a PNG (any colour type pngjs reads) to RGB and first-channel arrays. */
export function decodePng(buffer: Uint8Array): DecodedPng {
  const png = PNG.sync.read(Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength));
  const n = png.width * png.height;
  const rgb = new Uint8Array(n * 3);
  const gray = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = png.data[i * 4]!;
    rgb[i * 3 + 1] = png.data[i * 4 + 1]!;
    rgb[i * 3 + 2] = png.data[i * 4 + 2]!;
    gray[i] = png.data[i * 4]!;
  }
  return { width: png.width, height: png.height, rgb, gray };
}

function checkLength(name: string, data: Uint8Array, expected: number): void {
  if (data.length !== expected) throw new SynthValueError(`${name}: expected ${expected} bytes, got ${data.length}`, name);
}
