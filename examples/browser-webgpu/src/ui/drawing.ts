import type { RgbImage } from './imageInput.js';

/** Overlay colour of the selected mask (RGB) and its opacity. */
const MASK_RGB = [230, 40, 60] as const;
const MASK_ALPHA = 0.55;

/**
 * Draw an RGB image scaled to the canvas (nearest neighbour), with the pixels of `mask`
 * (`[height·width]` 0/1 at the image's size) tinted when it is given.
 */
export function drawImageWithMask(canvas: HTMLCanvasElement, image: RgbImage, mask: Uint8Array | null): void {
  const { width, height, rgb } = image;
  const pixels = new ImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const on = mask !== null && mask[i] !== 0;
    for (let c = 0; c < 3; c++) {
      const v = rgb[3 * i + c]!;
      pixels.data[4 * i + c] = on ? Math.round(v * (1 - MASK_ALPHA) + MASK_RGB[c]! * MASK_ALPHA) : v;
    }
    pixels.data[4 * i + 3] = 255;
  }
  blit(canvas, pixels);
}

/** Draw a 0/1 mask (`[maskHeight·maskWidth]`) white on black. */
export function drawMaskThumbnail(canvas: HTMLCanvasElement, mask: Uint8Array, maskWidth: number, maskHeight: number): void {
  const pixels = new ImageData(maskWidth, maskHeight);
  for (let i = 0; i < maskWidth * maskHeight; i++) {
    const v = mask[i] ? 255 : 0;
    pixels.data[4 * i] = v;
    pixels.data[4 * i + 1] = v;
    pixels.data[4 * i + 2] = v;
    pixels.data[4 * i + 3] = 255;
  }
  blit(canvas, pixels);
}

/** Put `pixels` on the canvas, scaled to its size without smoothing. */
function blit(canvas: HTMLCanvasElement, pixels: ImageData): void {
  const source = document.createElement('canvas');
  source.width = pixels.width;
  source.height = pixels.height;
  source.getContext('2d')!.putImageData(pixels, 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
}

/** Nearest-neighbour resize of a 0/1 mask, for showing a candidate over the image. */
export function resizeMaskNearest(mask: Uint8Array, fromWidth: number, fromHeight: number, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(fromHeight - 1, Math.floor((y * fromHeight) / height));
    for (let x = 0; x < width; x++) out[y * width + x] = mask[sy * fromWidth + Math.min(fromWidth - 1, Math.floor((x * fromWidth) / width))]!;
  }
  return out;
}
