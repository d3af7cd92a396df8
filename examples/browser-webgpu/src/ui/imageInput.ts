import { generateSample, type Family } from '@flowseg/refseg-synth';

/** An RGB image at the model's size, ready for the worker. */
export interface RgbImage {
  /** RGB bytes `[height, width, 3]`. */
  readonly rgb: Uint8Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/** A generated scene and the expression that comes with it. */
export interface GeneratedScene extends RgbImage {
  /** The sample's referring expression (`the small red circle`). */
  readonly expression: string;
  /** The sample's id (`test/attribute/3`). */
  readonly id: string;
  /** The expected answer of the sample. */
  readonly answer: string;
}

/** Scene `seed` of the synthetic benchmark's test split (`@flowseg/refseg-synth`), at the model's size. */
export function generateScene(seed: number, family: Family, width: number, height: number): GeneratedScene {
  const sample = generateSample('test', family, seed, { width, height });
  return { rgb: sample.scene.image, width, height, expression: sample.text, id: sample.id, answer: sample.answer };
}

/** Decode an uploaded image file and resample it to `width × height` RGB. */
export async function imageFromFile(file: Blob, width: number, height: number): Promise<RgbImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error('this file could not be decoded as an image');
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser has no 2D canvas');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[3 * i] = rgba[4 * i]!;
    rgb[3 * i + 1] = rgba[4 * i + 1]!;
    rgb[3 * i + 2] = rgba[4 * i + 2]!;
  }
  return { rgb, width, height };
}
