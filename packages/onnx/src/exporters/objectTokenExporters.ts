import type { ObjectTokenEncoder } from '@flowseg/flowseg-model';
import type { OnnxExportContext } from '../export/OnnxExportContext.js';
import type { OnnxLayerExporter } from '../export/registry.js';
import { pixelCentres, runtimeAxis } from './graphOps.js';

/** Name of the input port of attribute group `g`. */
export const attributeLogitsPort = (g: number): string => `attributeLogits${g}`;

/** `Σ x` over `axis` of a `[batch, objects, …]` tensor. */
const sumOver = (ctx: OnnxExportContext, x: string, axis: number, keepdims: 0 | 1, hint: string) =>
  ctx.op('ReduceSum', [x, ctx.int64([axis])], { keepdims }, hint);

/**
 * `ObjectTokenEncoder`: per object, the attribute groups' softmaxes, the objectness
 * probability, the soft mask's centroid and √area, then `proj` — as in TF.js. Batch, object and
 * mask axes are dynamic.
 */
export const objectTokenEncoderExporter: OnnxLayerExporter<ObjectTokenEncoder> = {
  signature: (layer) => ({
    inputs: [
      ...layer.classes.map((k, g) => ({
        name: attributeLogitsPort(g),
        dtypes: ['float32' as const],
        dims: ['batch', 'objects', k],
        doc: `Attribute logits of group ${g} \`[batch, objects, ${k}]\`.`,
      })),
      { name: 'objectLogits', dtypes: ['float32'], dims: ['batch', 'objects', 2], doc: 'Object / no-object logits `[batch, objects, 2]`.' },
      { name: 'maskLogits', dtypes: ['float32'], dims: ['batch', 'objects', 'maskHeight', 'maskWidth'], doc: 'Mask logits `[batch, objects, maskHeight, maskWidth]`.' },
    ],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Object tokens `[batch, objects, tokenDim]`.' }],
  }),
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const attributes = layer.classes.map((_, g) => ctx.op('Softmax', [inputs[attributeLogitsPort(g)]!], { axis: -1 }, `attributes_${g}`));
    const objectness = ctx.op(
      'Slice',
      [ctx.op('Softmax', [inputs['objectLogits']!], { axis: -1 }, 'object_probs'), ctx.int64([0]), ctx.int64([1]), ctx.int64([2])],
      {},
      'objectness',
    );
    const masks = ctx.op('Sigmoid', [inputs['maskLogits']!], {}, 'soft_masks');
    const mh = runtimeAxis(ctx, masks, 2, 'mask_h');
    const mw = runtimeAxis(ctx, masks, 3, 'mask_w');
    const columns = sumOver(ctx, masks, 2, 0, 'column_mass'); // [batch, objects, w]
    const rows = sumOver(ctx, masks, 3, 0, 'row_mass'); // [batch, objects, h]
    const mass = sumOver(ctx, columns, 2, 1, 'mass'); // [batch, objects, 1]
    const safeMass = ctx.op('Max', [mass, ctx.scalar(1e-6)], {}, 'mass_safe');
    const centroid = (marginal: string, centres: string, hint: string) =>
      ctx.op('Div', [sumOver(ctx, ctx.op('Mul', [marginal, centres], {}, `${hint}_weighted`), 2, 1, `${hint}_sum`), safeMass], {}, hint);
    const cx = centroid(columns, pixelCentres(ctx, mw, [1, 1, -1], 'xs'), 'centroid_x');
    const cy = centroid(rows, pixelCentres(ctx, mh, [1, 1, -1], 'ys'), 'centroid_y');
    const pixels = ctx.op('Mul', [mh.lengthF, mw.lengthF], {}, 'pixels');
    const area = ctx.op('Sqrt', [ctx.op('Div', [mass, pixels], {}, 'area')], {}, 'area_root');
    const features = ctx.op('Concat', [...attributes, objectness, cx, cy, area], { axis: -1 }, 'features');
    return { output: ctx.linear(layer, 'proj', features, 'tokens') };
  },
};
