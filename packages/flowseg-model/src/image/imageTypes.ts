import { ShapeError, ValueError } from '@flowseg/core';

/** An RGB image as bytes, row-major `[height, width, 3]` (HWC), one byte per channel. */
export interface RgbImage {
  /** Pixels `[height, width, 3]`, length `height·width·3`. */
  readonly rgb: Uint8Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/**
 * RGBA pixels shaped like the DOM's `ImageData` (`canvas.getContext('2d').getImageData(…)`):
 * row-major `[height, width, 4]`. FlowSeg reads the colour channels only (alpha is ignored).
 */
export interface RgbaImage {
  /** Pixels `[height, width, 4]`, length `height·width·4`. */
  readonly data: Uint8ClampedArray | Uint8Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/** A binary mask, row-major `[height, width]`, one byte per pixel: 1 = inside, 0 = outside. */
export interface BinaryMask {
  /** Pixels `[height, width]`, values 0 or 1. */
  readonly data: Uint8Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/** Mask logits, row-major `[height, width]` (a pixel is inside where its logit is > 0). */
export interface MaskLogits {
  /** Logits `[height, width]`. */
  readonly data: Float32Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/** An RGB colour, each channel 0–255. */
export type RgbColor = readonly [number, number, number];

/** @internal Throws a ValueError unless width and height are positive integers. */
export function checkImageSize(width: unknown, height: unknown, argument: string): void {
  for (const [name, value] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new ValueError(`${argument}.${name}: expected a positive integer, received ${JSON.stringify(value)}`, argument);
    }
  }
}

/** @internal Throws a ShapeError unless `length === height·width·channels`. */
export function checkPixelCount(
  length: number,
  width: number,
  height: number,
  channels: number,
  argument: string,
  hint = '',
): void {
  if (length !== width * height * channels) {
    const received = length / (width * height);
    throw new ShapeError(
      argument,
      `[height=${height}, width=${width}, ${channels}] (${width * height * channels} values)`,
      [height, width, Number.isInteger(received) ? received : Number(received.toFixed(3))],
      `${length} values${hint}`,
    );
  }
}

/** Check an {@link RgbImage}: positive integer size, a `Uint8Array` of `height·width·3` bytes. */
export function checkRgbImage(image: RgbImage, argument = 'image'): void {
  if (image === null || typeof image !== 'object') throw new ValueError(`${argument}: expected { rgb, width, height }`, argument);
  checkImageSize(image.width, image.height, argument);
  if (!(image.rgb instanceof Uint8Array)) {
    throw new ValueError(`${argument}.rgb: expected a Uint8Array of RGB bytes`, argument);
  }
  checkPixelCount(image.rgb.length, image.width, image.height, 3, argument);
}

/** Check a {@link BinaryMask}: positive integer size, `height·width` bytes each 0 or 1. */
export function checkBinaryMask(mask: BinaryMask, argument = 'mask'): void {
  if (mask === null || typeof mask !== 'object') throw new ValueError(`${argument}: expected { data, width, height }`, argument);
  checkImageSize(mask.width, mask.height, argument);
  if (!(mask.data instanceof Uint8Array)) throw new ValueError(`${argument}.data: expected a Uint8Array of 0/1`, argument);
  checkPixelCount(mask.data.length, mask.width, mask.height, 1, argument);
  const bad = mask.data.findIndex((v) => v > 1);
  if (bad >= 0) {
    throw new ValueError(`${argument}.data: expected 0 or 1, found ${mask.data[bad]} at pixel ${bad}`, argument);
  }
}
