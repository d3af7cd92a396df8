import { ShapeError, ValueError } from '@flowseg/core';
import { checkBinaryMask, checkRgbImage, type BinaryMask, type RgbColor, type RgbImage } from './imageTypes.js';

/** Tint colours used for targets 0, 1, 2, … (cycled): red, green, blue, yellow, magenta, cyan. */
export const OVERLAY_COLORS: readonly RgbColor[] = [
  [255, 48, 48],
  [48, 220, 48],
  [48, 96, 255],
  [255, 220, 0],
  [255, 0, 255],
  [0, 230, 230],
];

/** One mask to draw on an overlay. */
export interface OverlayMask {
  /** The mask, at the image's size. */
  readonly mask: BinaryMask;
  /** Its colour (default: {@link OVERLAY_COLORS} by position). */
  readonly color?: RgbColor;
}

/** Options of {@link renderOverlay}. */
export interface OverlayOptions {
  /** Tint strength in `[0, 1]`: `out = (1 − opacity)·image + opacity·color` inside a mask (default 0.5). */
  readonly opacity?: number;
  /** Masks drawn as one-pixel outlines on top of the tint (e.g. runner-up candidates). */
  readonly outlines?: readonly OverlayMask[];
  /** Outline colour when an outline has none (default white). */
  readonly outlineColor?: RgbColor;
}

function checkColor(color: RgbColor, argument: string): void {
  if (!Array.isArray(color) || color.length !== 3 || color.some((c) => !Number.isInteger(c) || c < 0 || c > 255)) {
    throw new ValueError(`${argument}: expected [r, g, b] with integers in [0, 255], received ${JSON.stringify(color)}`, argument);
  }
}

function checkSameSize(mask: BinaryMask, image: RgbImage, argument: string): void {
  checkBinaryMask(mask, argument);
  if (mask.width !== image.width || mask.height !== image.height) {
    throw new ShapeError(
      argument,
      `[height=${image.height}, width=${image.width}] (the image's size)`,
      [mask.height, mask.width],
      'mask and image sizes differ',
    );
  }
}

/**
 * The outline of a mask: pixels inside it with at least one 4-neighbour outside it (pixels on
 * the image border count as having an outside neighbour).
 */
export function maskOutline(mask: BinaryMask): BinaryMask {
  checkBinaryMask(mask, 'mask');
  const { width: w, height: h, data } = mask;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!data[i]) continue;
      const edge =
        x === 0 || y === 0 || x === w - 1 || y === h - 1 || !data[i - 1] || !data[i + 1] || !data[i - w] || !data[i + w];
      if (edge) out[i] = 1;
    }
  }
  return { data: out, width: w, height: h };
}

/**
 * Draw masks on an image: each mask tints its pixels with its colour (`opacity` blend; later
 * masks are blended over earlier ones), then `outlines` are drawn as solid one-pixel outlines.
 * Pure: returns a new image. Browser-safe (no Node modules).
 * @throws ShapeError when a mask's size differs from the image's; ValueError for bad options.
 */
export function renderOverlay(image: RgbImage, masks: readonly OverlayMask[], options: OverlayOptions = {}): RgbImage {
  checkRgbImage(image, 'image');
  const opacity = options.opacity ?? 0.5;
  if (typeof opacity !== 'number' || !(opacity >= 0 && opacity <= 1)) {
    throw new ValueError(`opacity: expected a number in [0, 1], received ${String(opacity)}`, 'opacity');
  }
  const outlineColor = options.outlineColor ?? [255, 255, 255];
  checkColor(outlineColor, 'outlineColor');
  masks.forEach((m, k) => {
    checkSameSize(m.mask, image, `masks[${k}].mask`);
    if (m.color) checkColor(m.color, `masks[${k}].color`);
  });
  const outlines = options.outlines ?? [];
  outlines.forEach((m, k) => {
    checkSameSize(m.mask, image, `outlines[${k}].mask`);
    if (m.color) checkColor(m.color, `outlines[${k}].color`);
  });
  const rgb = Uint8Array.from(image.rgb);
  const n = image.width * image.height;
  masks.forEach((m, k) => {
    const color = m.color ?? OVERLAY_COLORS[k % OVERLAY_COLORS.length]!;
    for (let i = 0; i < n; i++) {
      if (!m.mask.data[i]) continue;
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round((1 - opacity) * rgb[i * 3 + c]! + opacity * color[c]!);
    }
  });
  for (const m of outlines) {
    const color = m.color ?? outlineColor;
    const edge = maskOutline(m.mask).data;
    for (let i = 0; i < n; i++) {
      if (edge[i]) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = color[c]!;
    }
  }
  return { rgb, width: image.width, height: image.height };
}
