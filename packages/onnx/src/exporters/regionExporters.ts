import { REGION_BOX_HALF_SIDE_SIGMAS, REGION_BOX_MIN_HALF_PIXELS, type CandidateRegionEncoder } from '@flowseg/flowseg-model';
import type { OnnxExportContext } from '../export/OnnxExportContext.js';
import type { OnnxLayerExporter } from '../export/registry.js';
import { concatShape, conv2dAt, pixelCentres, runtimeAxis, shapeSlice, spaceToDepthNhwc, toFloat, type RuntimeAxis } from './graphOps.js';

/**
 * Bilinear sampling weights `max(0, 1 − |u − i|)` of `size` samples across a box (as
 * `bilinearSamplingWeights`): `[K, size, length]`, or `[K, length, size]` when `sourceFirst`.
 */
function samplingWeights(
  ctx: OnnxExportContext,
  centre: string,
  half: string,
  size: number,
  axis: RuntimeAxis,
  sourceFirst: boolean,
  hint: string,
): string {
  const steps = Float32Array.from({ length: size }, (_, j) => ((j + 0.5) * 2) / size);
  const stepShape = sourceFirst ? [1, 1, size] : [1, size, 1];
  const c = ctx.op('Reshape', [centre, ctx.int64([-1, 1, 1])], {}, `${hint}/centre`);
  const h = ctx.op('Reshape', [half, ctx.int64([-1, 1, 1])], {}, `${hint}/half`);
  const p = ctx.op('Add', [ctx.op('Sub', [c, h], {}, `${hint}/start`), ctx.op('Mul', [h, ctx.floatConstant(`${hint}/steps`, steps, stepShape)], {}, `${hint}/offsets`)], {}, `${hint}/positions`);
  const u = ctx.op('Sub', [ctx.op('Mul', [p, axis.lengthF], {}, `${hint}/scaled`), ctx.scalar(0.5)], {}, `${hint}/u`);
  const source = ctx.op('Reshape', [axis.range, ctx.int64(sourceFirst ? [1, -1, 1] : [1, 1, -1])], {}, `${hint}/source`);
  const distance = ctx.op('Abs', [ctx.op('Sub', [u, source], {}, `${hint}/delta`)], {}, `${hint}/distance`);
  return ctx.op('Relu', [ctx.op('Sub', [ctx.scalar(1), distance], {}, `${hint}/tent`)], {}, hint);
}

/**
 * `CandidateRegionEncoder`: box per candidate from its binary mask's moments, separable
 * bilinear crops of the row's image and of the candidate's `σ(logits)` (MatMul pairs), three
 * conv + ReLU stages with space-to-depth between them, `proj`, times the gate. Row, candidate
 * and spatial axes are dynamic.
 */
export const candidateRegionEncoderExporter: OnnxLayerExporter<CandidateRegionEncoder> = {
  signature: () => ({
    inputs: [
      { name: 'images', dtypes: ['float32'], dims: ['rows', 'height', 'width', 3], doc: 'The image of each row `[rows, height, width, 3]` in 0..1.' },
      { name: 'maskLogits', dtypes: ['float32'], dims: ['rows', 'candidates', 'maskHeight', 'maskWidth'], doc: 'Raw candidate mask logits `[rows, candidates, maskHeight, maskWidth]`.' },
    ],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Region embeddings `[rows, candidates, channels]`.' }],
  }),
  emit: (layer, { images, maskLogits }, ctx) => {
    layer.ensureBuilt();
    const size = layer.cropSize;
    const [c0, c1] = layer.convChannels;
    const rows = shapeSlice(ctx, maskLogits!, 0, 1, 'rows');
    const candidates = shapeSlice(ctx, maskLogits!, 1, 2, 'candidates');
    const mh = runtimeAxis(ctx, maskLogits!, 2, 'mask_h');
    const mw = runtimeAxis(ctx, maskLogits!, 3, 'mask_w');
    const ih = runtimeAxis(ctx, images!, 1, 'image_h');
    const iw = runtimeAxis(ctx, images!, 2, 'image_w');
    const logits = ctx.op('Reshape', [maskLogits!, concatShape(ctx, [ctx.int64([-1]), mh.length, mw.length], 'masks_shape')], {}, 'masks');

    // Boxes from the binary mask's moments (regionBoxes).
    const boxes = ctx.withScope('boxes', () => {
      const binary = toFloat(ctx, ctx.op('Greater', [logits, ctx.scalar(0)], {}, 'positive'), 'binary');
      const ys = pixelCentres(ctx, mh, [1, -1, 1], 'ys');
      const xs = pixelCentres(ctx, mw, [1, 1, -1], 'xs');
      const sum = (x: string, hint: string) => ctx.op('ReduceSum', [x, ctx.int64([1, 2])], { keepdims: 0 }, hint);
      const mass = sum(binary, 'mass');
      const empty = ctx.op('LessOrEqual', [mass, ctx.scalar(0)], {}, 'empty');
      const safe = ctx.op('Max', [mass, ctx.scalar(1)], {}, 'safe_mass');
      const mean = (coord: string, hint: string) => ctx.op('Div', [sum(ctx.op('Mul', [binary, coord], {}, `${hint}/weighted`), `${hint}/sum`), safe], {}, hint);
      const cy = mean(ys, 'cy');
      const cx = mean(xs, 'cx');
      const variance = (coord: string, centre: string, hint: string) => {
        const d = ctx.op('Sub', [coord, ctx.op('Reshape', [centre, ctx.int64([-1, 1, 1])], {}, `${hint}/centre`)], {}, `${hint}/d`);
        return ctx.op('Div', [sum(ctx.op('Mul', [binary, ctx.op('Mul', [d, d], {}, `${hint}/d2`)], {}, `${hint}/weighted`), `${hint}/sum`), safe], {}, hint);
      };
      const sigma = ctx.op('Sqrt', [ctx.op('Max', [variance(ys, cy, 'var_y'), variance(xs, cx, 'var_x')], {}, 'variance')], {}, 'sigma');
      const minHalf = ctx.op('Div', [ctx.scalar(REGION_BOX_MIN_HALF_PIXELS), ctx.op('Min', [mh.lengthF, mw.lengthF], {}, 'min_side')], {}, 'min_half');
      const raw = ctx.op('Mul', [sigma, ctx.scalar(REGION_BOX_HALF_SIDE_SIGMAS)], {}, 'raw_half');
      const half = ctx.op('Min', [ctx.op('Max', [raw, minHalf], {}, 'half_floor'), ctx.scalar(0.5)], {}, 'half_clamped');
      const orCentre = (x: string, hint: string) => ctx.op('Where', [empty, ctx.scalar(0.5), x], {}, hint);
      return { cy: orCentre(cy, 'centre_y'), cx: orCentre(cx, 'centre_x'), half: orCentre(half, 'half') };
    });

    const crops = ctx.withScope('crops', () => {
      const wy = samplingWeights(ctx, boxes.cy, boxes.half, size, ih, false, 'image_wy');
      const wxT = samplingWeights(ctx, boxes.cx, boxes.half, size, iw, true, 'image_wx');
      // Rows share their image: [rows, N·size, H] × [rows, H, W·3].
      const wyRows = ctx.op('Reshape', [wy, concatShape(ctx, [rows, ctx.int64([-1]), ih.length], 'wy_rows_shape')], {}, 'wy_rows');
      const flatImages = ctx.op('Reshape', [images!, concatShape(ctx, [rows, ih.length, ctx.int64([-1])], 'images_flat_shape')], {}, 'images_flat');
      const alongY = ctx.op('MatMul', [wyRows, flatImages], {}, 'along_y');
      const perRegion = ctx.op('Reshape', [alongY, concatShape(ctx, [ctx.int64([-1, size]), iw.length, ctx.int64([3])], 'per_region_shape')], {}, 'per_region');
      const columnsLast = ctx.op('Transpose', [perRegion], { perm: [0, 1, 3, 2] }, 'columns_last');
      const stacked = ctx.op('Reshape', [columnsLast, concatShape(ctx, [ctx.int64([-1, size * 3]), iw.length], 'stacked_shape')], {}, 'stacked');
      const alongX = ctx.op('MatMul', [stacked, wxT], {}, 'along_x');
      const image = ctx.op('Transpose', [ctx.op('Reshape', [alongX, ctx.int64([-1, size, 3, size])], {}, 'image_split')], { perm: [0, 1, 3, 2] }, 'image');
      const mwy = samplingWeights(ctx, boxes.cy, boxes.half, size, mh, false, 'mask_wy');
      const mwxT = samplingWeights(ctx, boxes.cx, boxes.half, size, mw, true, 'mask_wx');
      const probability = ctx.op('Sigmoid', [logits], {}, 'probability');
      const mask = ctx.op('MatMul', [ctx.op('MatMul', [mwy, probability], {}, 'mask_y'), mwxT], {}, 'mask_yx');
      return ctx.op('Concat', [image, ctx.op('Unsqueeze', [mask, ctx.int64([3])], {}, 'mask')], { axis: 3 }, 'crops');
    });

    let x = ctx.op('Relu', [conv2dAt(ctx, layer, 'conv_0', crops)], {}, 'conv_0/relu');
    x = ctx.op('Relu', [conv2dAt(ctx, layer, 'conv_1', spaceToDepthNhwc(ctx, x, 2, c0, 'fold_1'))], {}, 'conv_1/relu');
    x = ctx.op('Relu', [conv2dAt(ctx, layer, 'conv_2', spaceToDepthNhwc(ctx, x, 2, c1, 'fold_2'))], {}, 'conv_2/relu');
    const flat = ctx.op('Reshape', [x, ctx.int64([-1, (size / 4) ** 2 * layer.convChannels[2]])], {}, 'flat');
    const embedding = ctx.op('Mul', [ctx.linear(layer, 'proj', flat), ctx.weight(layer, 'gate')], {}, 'gated');
    const output = ctx.op('Reshape', [embedding, concatShape(ctx, [rows, candidates, ctx.int64([layer.hiddenDim])], 'output_shape')], {}, 'output');
    return { output };
  },
};
