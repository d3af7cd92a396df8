import type { FlowSegLayer } from '@flowseg/core';
import { BoundaryAwareRefinement, BoundaryRefineNet } from '@flowseg/bar-head';
import type { OnnxLayerExporter } from '../export/registry.js';
import type { OnnxExportContext } from '../export/OnnxExportContext.js';
import { concatShape, kernelSizeAt, shapeSlice, staticSpatialSize, toFloat, weightKey } from './graphOps.js';

/**
 * `f_refine([M ‖ F_comp])` evaluated densely, with `owner`'s weights `<prefix>conv1.kernel
 * [k, k, 1 + Cc, hidden]`, `conv1.bias`, `conv2.kernel [k, k, hidden, 1]`, `conv2.bias`. As in
 * TF.js, conv1 is split: the feature term is convolved once per image and broadcast over
 * the masks, the mask term once per mask.
 *
 * @param maskLogits - `[batch, masks, height, width]`.
 * @param compFeatures - NHWC `[batch, height, width, compChannels]`.
 * @returns pre-activation `[batch, masks, height, width]`.
 */
function refineNetAt(
  ctx: OnnxExportContext,
  owner: FlowSegLayer,
  prefix: string,
  maskLogits: string,
  compFeatures: string,
  compChannels: number,
  hiddenChannels: number,
): string {
  const key = (k: string) => weightKey(prefix, k);
  const k = kernelSizeAt(owner, key('conv1'));
  const p = (k - 1) / 2;
  const conv = { kernel_shape: [k, k], pads: [p, p, p, p], strides: [1, 1] };
  const hint = prefix || 'f_refine';
  const w1 = ctx.op('Transpose', [ctx.weight(owner, key('conv1.kernel'))], { perm: [3, 2, 0, 1] }, `${hint}/conv1_oihw`);
  const maskKernel = ctx.op('Slice', [w1, ctx.int64([0]), ctx.int64([1]), ctx.int64([1])], {}, `${hint}/conv1_mask_kernel`);
  const featKernel = ctx.op('Slice', [w1, ctx.int64([1]), ctx.int64([1 + compChannels]), ctx.int64([1])], {}, `${hint}/conv1_feature_kernel`);
  const w2 = ctx.op('Transpose', [ctx.weight(owner, key('conv2.kernel'))], { perm: [3, 2, 0, 1] }, `${hint}/conv2_oihw`);
  // Per image, once: conv(F_comp, W₁[:, :, 1:]) + b₁ → [B, hidden, H, W].
  const featNchw = ctx.op('Transpose', [compFeatures], { perm: [0, 3, 1, 2] }, `${hint}/features_nchw`);
  const featTerm = ctx.op('Conv', [featNchw, featKernel, ctx.weight(owner, key('conv1.bias'))], conv, `${hint}/feature_term`);
  // Per mask: conv(M, W₁[:, :, :1]) → [B·N, hidden, H, W].
  const hw = shapeSlice(ctx, maskLogits, 2, 4, `${hint}/hw`);
  const perMask = ctx.op('Reshape', [maskLogits, concatShape(ctx, [ctx.int64([-1, 1]), hw], `${hint}/per_mask_shape`)], {}, `${hint}/per_mask`);
  const maskTerm = ctx.op('Conv', [perMask, maskKernel], conv, `${hint}/mask_term`);
  const split = concatShape(ctx, [shapeSlice(ctx, maskLogits, 0, 2, `${hint}/bn`), ctx.int64([hiddenChannels]), hw], `${hint}/hidden_shape`);
  const hidden = ctx.op(
    'Relu',
    [ctx.op('Add', [ctx.op('Reshape', [maskTerm, split], {}, `${hint}/mask_term_5d`), ctx.op('Unsqueeze', [featTerm, ctx.int64([1])], {}, `${hint}/feature_term_5d`)], {}, `${hint}/conv1`)],
    {},
    `${hint}/hidden`,
  );
  const flat = ctx.op('Reshape', [hidden, concatShape(ctx, [ctx.int64([-1, hiddenChannels]), hw], `${hint}/hidden_flat_shape`)], {}, `${hint}/hidden_flat`);
  const out = ctx.op('Conv', [flat, w2, ctx.weight(owner, key('conv2.bias'))], conv, `${hint}/conv2`);
  return ctx.op('Reshape', [out, shapeSlice(ctx, maskLogits, 0, undefined, `${hint}/mask_shape`)], {}, hint);
}

/** bar-head `BoundaryRefineNet` (`f_refine`), dense: pre-activation `[batch, masks, height, width]`. */
export const boundaryRefineNetExporter: OnnxLayerExporter<BoundaryRefineNet> = {
  signature: (layer) => ({
    inputs: [
      { name: 'maskLogits', dtypes: ['float32'], dims: ['batch', 'masks', 'height', 'width'], doc: 'Raw mask logits `[batch, masks, height, width]`.' },
      { name: 'compFeatures', dtypes: ['float32'], dims: ['batch', 'height', 'width', layer.compChannels], doc: 'Compressed features `[batch, height, width, compChannels]`.' },
    ],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Pre-activation refinement `[batch, masks, height, width]`.' }],
  }),
  emit: (layer, { maskLogits, compFeatures }, ctx) => {
    layer.ensureBuilt();
    return { output: refineNetAt(ctx, layer, '', maskLogits!, compFeatures!, layer.compChannels, layer.hiddenChannels) };
  },
};

/**
 * bar-head `BoundaryAwareRefinement`: `B = 1[dilate(σ(M)) − erode(σ(M)) > ε]` (`MaxPool`
 * stride 1 with the window clipped to the image; ε fixed, relative to each mask's largest
 * gradient, or `σ(θ)` learned), `F_comp = f_comp(F_pix)` resized bilinearly to the mask size
 * when it differs, `ΔM = α·tanh(f_refine([M ‖ F_comp]))`, `M_refined = M + ΔM ⊙ B`.
 *
 * `f_refine` is always evaluated densely: TF.js's default `'band'` evaluation computes the
 * same values at the band pixels and ΔM is multiplied by `B` everywhere else, so both give
 * the same output (the tests check it).
 */
export const boundaryAwareRefinementExporter: OnnxLayerExporter<BoundaryAwareRefinement> = {
  signature: (layer) => ({
    inputs: [
      { name: 'maskLogits', dtypes: ['float32'], dims: ['batch', 'masks', 'height', 'width'], doc: 'Raw mask logits `M_raw` `[batch, masks, height, width]`.' },
      {
        name: 'pixelFeatures',
        dtypes: ['float32'],
        dims: ['batch', 'featureHeight', 'featureWidth', layer.settings.featureChannels],
        doc: 'Pixel features `F_pix` `[batch, featureHeight, featureWidth, channels]`.',
      },
    ],
    outputs: [
      { name: 'refinedLogits', dtype: 'float32', doc: '`M_refined` `[batch, masks, height, width]`.' },
      { name: 'band', dtype: 'float32', optional: true, doc: 'Band `B` `[batch, masks, height, width]`, 0/1.' },
      { name: 'delta', dtype: 'float32', optional: true, doc: 'Correction `ΔM ⊙ B` `[batch, masks, height, width]`.' },
    ],
  }),
  emit: (layer, { maskLogits, pixelFeatures }, ctx) => {
    layer.ensureBuilt();
    const s = layer.settings;
    const probs = ctx.op('Sigmoid', [maskLogits!], {}, 'probs');
    const p = (s.bandKernel - 1) / 2;
    const pool = (x: string, hint: string) =>
      ctx.op('MaxPool', [x], { kernel_shape: [s.bandKernel, s.bandKernel], pads: [p, p, p, p], strides: [1, 1] }, hint);
    const dilated = pool(probs, 'dilated');
    const eroded = ctx.op('Neg', [pool(ctx.op('Neg', [probs], {}, 'neg_probs'), 'neg_eroded')], {}, 'eroded');
    const g = ctx.op('Sub', [dilated, eroded], {}, 'morph_gradient');
    let threshold: string;
    if (s.adaptiveThreshold === 'learned') threshold = ctx.op('Sigmoid', [ctx.weight(layer, 'epsilon_logit')], {}, 'epsilon');
    else if (s.adaptiveThreshold === 'relative') {
      threshold = ctx.op('Mul', [ctx.op('ReduceMax', [g], { axes: [2, 3], keepdims: 1 }, 'gradient_max'), ctx.scalar(s.epsilon)], {}, 'epsilon');
    } else threshold = ctx.scalar(s.epsilon);
    const band = toFloat(ctx, ctx.op('Greater', [g, threshold], {}, 'in_band'), 'band');
    let comp = ctx.linear(layer, 'f_comp', pixelFeatures!);
    const featSize = staticSpatialSize(ctx, pixelFeatures!);
    const maskDims = ctx.dimsOf(maskLogits!);
    const same = featSize !== null && typeof maskDims?.[2] === 'number' && maskDims[2] === featSize[0] && maskDims[3] === featSize[1];
    if (!same) {
      // Resize to the mask's [height, width] (an NHWC stand-in of that size: only its shape is read).
      const target = concatShape(ctx, [shapeSlice(ctx, comp, 0, 1), shapeSlice(ctx, maskLogits!, 2, 4), shapeSlice(ctx, comp, 3, 4)], 'f_comp/sizes');
      comp = ctx.op('Resize', [comp, '', '', target], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }, 'f_comp/resized');
    }
    const pre = refineNetAt(ctx, layer, 'f_refine', maskLogits!, comp, s.compChannels, s.hiddenChannels);
    const correction = ctx.op('Mul', [ctx.op('Tanh', [pre], {}, 'tanh'), ctx.weight(layer, 'alpha')], {}, 'delta_dense');
    const delta = ctx.op('Mul', [correction, band], {}, 'delta');
    return { refinedLogits: ctx.op('Add', [maskLogits!, delta], {}, 'refined'), band, delta };
  },
};
