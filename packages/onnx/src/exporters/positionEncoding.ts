import { sinePositionEncoding2d } from '@flowseg/core';
import type { OnnxExportContext } from '../export/OnnxExportContext.js';
import { shapeSlice, staticSpatialSize } from './graphOps.js';

/** DETR's frequency base, the default of core's `sinePositionEncoding2d`. */
const TEMPERATURE = 10000;

/**
 * core's `sinePositionEncoding2d(h, w, channels)` (normalized, scale 2π) for the spatial size
 * of the NHWC value `feature`, as `[1, h·w, channels]`.
 *
 * When the export fixed `h` and `w` (the feature is a graph input with numeric dims) the
 * table is computed by core in float64 and stored as a constant. Otherwise it is computed in
 * the graph from the run-time size (float32: `y = (i+1)/(h+1e-6)·2π`, sin/cos of `y/dim_t`),
 * so one model serves any feature size; the two agree to ~1e-6.
 * @internal
 */
export function sinePositionsFor(ctx: OnnxExportContext, feature: string, channels: number, hint: string): string {
  const size = staticSpatialSize(ctx, feature);
  if (size) {
    const table = sinePositionEncoding2d(size[0], size[1], channels);
    const data = table.dataSync() as Float32Array;
    table.dispose();
    return ctx.floatConstant(hint, data, [1, size[0] * size[1], channels]);
  }
  const f = channels / 2;
  const invDim = Float32Array.from({ length: f }, (_, k) => 1 / Math.pow(TEMPERATURE, (2 * Math.floor(k / 2)) / f));
  const even = Uint8Array.from({ length: f }, (_, k) => (k % 2 === 0 ? 1 : 0));
  const invDimValue = ctx.floatConstant(`${hint}/inv_dim`, invDim, [f]);
  const evenValue = ctx.builder.addConstant(`${hint}/even`, even, [f], 'bool');
  // One axis: [n] → [n, f], feature k = sin (even k) or cos (odd k) of (i+1)/(n+1e-6)·2π / dim_t[k].
  const axis = (index: number, name: string): string => {
    const n = ctx.op('Cast', [ctx.op('Gather', [ctx.op('Shape', [feature], {}, `${hint}/shape_${name}`), ctx.int64([index], [])], { axis: 0 }, `${hint}/${name}`)], { to: 1 }, `${hint}/${name}_f32`);
    const positions = ctx.op('Range', [ctx.scalar(1), ctx.op('Add', [n, ctx.scalar(1)], {}, `${hint}/${name}_end`), ctx.scalar(1)], {}, `${hint}/${name}_range`);
    const normalized = ctx.op(
      'Mul',
      [ctx.op('Div', [positions, ctx.op('Add', [n, ctx.scalar(1e-6)], {}, `${hint}/${name}_eps`)], {}, `${hint}/${name}_unit`), ctx.scalar(2 * Math.PI)],
      {},
      `${hint}/${name}_scaled`,
    );
    const angle = ctx.op('Mul', [ctx.op('Unsqueeze', [normalized, ctx.int64([1])], {}, `${hint}/${name}_col`), invDimValue], {}, `${hint}/${name}_angle`);
    return ctx.op(
      'Where',
      [evenValue, ctx.op('Sin', [angle], {}, `${hint}/${name}_sin`), ctx.op('Cos', [angle], {}, `${hint}/${name}_cos`)],
      {},
      `${hint}/${name}_enc`,
    );
  };
  const ys = axis(1, 'y');
  const xs = axis(2, 'x');
  const grid = ctx.op('Concat', [shapeSlice(ctx, feature, 1, 3, `${hint}/hw`), ctx.int64([f])], { axis: 0 }, `${hint}/grid`);
  const y = ctx.op('Expand', [ctx.op('Unsqueeze', [ys, ctx.int64([1])], {}, `${hint}/y_rows`), grid], {}, `${hint}/y_grid`);
  const x = ctx.op('Expand', [ctx.op('Unsqueeze', [xs, ctx.int64([0])], {}, `${hint}/x_cols`), grid], {}, `${hint}/x_grid`);
  return ctx.op('Reshape', [ctx.op('Concat', [y, x], { axis: -1 }, `${hint}/yx`), ctx.int64([1, -1, channels])], {}, hint);
}
