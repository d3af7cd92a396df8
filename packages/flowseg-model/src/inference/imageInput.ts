import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError, checkShapes } from '@flowseg/core';
import { checkImageSize, checkPixelCount, checkRgbImage, type RgbImage, type RgbaImage } from '../image/imageTypes.js';

/**
 * An image for {@link segment}, in one of three forms:
 * - a `tf.Tensor3D` `[height, width, 3]`: **float32 with values in `[0, 1]`** or **int32 with
 *   values in `[0, 255]`** (the dtype says which; anything else — other dtypes, float32 values
 *   above 1, int32 values above 255, NaN — is rejected, never rescaled silently);
 * - an {@link RgbaImage} (`{ data, width, height }` like the DOM's `ImageData`; alpha ignored);
 * - an {@link RgbImage} (`{ rgb, width, height }`: raw RGB bytes, e.g. a decoded PNG or a
 *   `@flowseg/refseg-synth` scene).
 */
export type SegmentImage = tf.Tensor3D | RgbImage | RgbaImage;

/** An image made ready for the model. */
export interface PreparedImage {
  /** float32 `[modelHeight, modelWidth, 3]` in `[0, 1]` (caller disposes). */
  readonly tensor: tf.Tensor3D;
  /** Width of the image as given. */
  readonly width: number;
  /** Height of the image as given. */
  readonly height: number;
}

function fromBytes(bytes: ArrayLike<number>, width: number, height: number, channels: 3 | 4): tf.Tensor3D {
  const n = width * height;
  const data = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) data[i * 3 + c] = bytes[i * channels + c]! / 255;
  }
  return tf.tensor3d(data, [height, width, 3], 'float32');
}

async function checkTensorRange(image: tf.Tensor3D, argument: string): Promise<void> {
  // An asynchronous read: webgpu cannot read tensors synchronously.
  const extremes = tf.tidy(() => tf.stack([tf.min(image), tf.max(image)]));
  const [min, max] = await extremes.data();
  extremes.dispose();
  const top = image.dtype === 'float32' ? 1 : 255;
  if (!(min! >= 0 && max! <= top)) {
    const hint =
      image.dtype === 'float32'
        ? 'float32 images must hold values in [0, 1] (divide 0–255 data by 255, or pass an int32 tensor)'
        : 'int32 images must hold values in [0, 255]';
    throw new ValueError(`${argument}: values span [${min}, ${max}]; ${hint}`, argument);
  }
}

/**
 * Validate an image and turn it into the model's input: float32 `[0, 1]`, resized to
 * `size` with bilinear interpolation (half-pixel centres, as PyTorch's `align_corners=False`;
 * the aspect ratio is not kept) when its size differs.
 * @throws ShapeError / DTypeError / ValueError naming `argument`.
 */
export async function prepareImage(
  image: SegmentImage,
  size: { height: number; width: number },
  argument = 'image',
): Promise<PreparedImage> {
  let width: number;
  let height: number;
  let make: () => tf.Tensor3D;
  if (image instanceof tf.Tensor) {
    if (image.dtype !== 'float32' && image.dtype !== 'int32') throw new DTypeError(argument, ['float32', 'int32'], image.dtype);
    checkShapes({ [argument]: { tensor: image, axes: ['height', 'width', { name: 'channels', size: 3 }] } });
    [height, width] = image.shape;
    if (height === 0 || width === 0) {
      throw new ShapeError(argument, '[height ≥ 1, width ≥ 1, 3]', image.shape, 'the image is empty');
    }
    await checkTensorRange(image, argument);
    make = () => (image.dtype === 'float32' ? tf.clone(image) : tf.div(tf.cast(image, 'float32'), 255));
  } else if (image !== null && typeof image === 'object' && 'rgb' in image) {
    checkRgbImage(image, argument);
    ({ width, height } = image);
    make = () => fromBytes(image.rgb, width, height, 3);
  } else if (image !== null && typeof image === 'object' && 'data' in image) {
    checkImageSize(image.width, image.height, argument);
    ({ width, height } = image);
    if (!(image.data instanceof Uint8ClampedArray || image.data instanceof Uint8Array)) {
      throw new ValueError(`${argument}.data: expected RGBA bytes (Uint8ClampedArray or Uint8Array)`, argument);
    }
    const rgbHint = image.data.length === width * height * 3 ? '; for RGB bytes pass { rgb, width, height }' : '';
    checkPixelCount(image.data.length, width, height, 4, argument, rgbHint);
    make = () => fromBytes(image.data, width, height, 4);
  } else {
    throw new ValueError(
      `${argument}: expected a tf.Tensor3D [height, width, 3], { data, width, height } (RGBA, like ImageData) or { rgb, width, height }`,
      argument,
    );
  }
  const tensor = tf.tidy(() => {
    const x = make();
    if (height === size.height && width === size.width) return x;
    return tf.image.resizeBilinear(x, [size.height, size.width], false, true);
  });
  return { tensor, width, height };
}
