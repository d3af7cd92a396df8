/**
 * Independent reference implementations (plain JS, float64) of the PyTorch ops the package
 * re-creates, written from their documented formulas.
 */

/** `F.interpolate(x, size, mode='bilinear', align_corners=False)` of one `h × w` map. */
export function torchBilinearResize(map: ArrayLike<number>, h: number, w: number, oh: number, ow: number): Float64Array {
  const out = new Float64Array(oh * ow);
  const sy = h / oh;
  const sx = w / ow;
  for (let i = 0; i < oh; i++) {
    const y = Math.max((i + 0.5) * sy - 0.5, 0);
    const y0 = Math.floor(y);
    const y1 = y0 < h - 1 ? y0 + 1 : y0;
    const ly = y - y0;
    for (let j = 0; j < ow; j++) {
      const x = Math.max((j + 0.5) * sx - 0.5, 0);
      const x0 = Math.floor(x);
      const x1 = x0 < w - 1 ? x0 + 1 : x0;
      const lx = x - x0;
      const v = (a: number, b: number) => map[a * w + b]!;
      out[i * ow + j] =
        (1 - ly) * ((1 - lx) * v(y0, x0) + lx * v(y0, x1)) + ly * ((1 - lx) * v(y1, x0) + lx * v(y1, x1));
    }
  }
  return out;
}

/** `grid_sample(map, 2·p − 1, mode='bilinear', padding_mode='zeros', align_corners=False)` at one point. */
export function torchGridSample(map: ArrayLike<number>, h: number, w: number, px: number, py: number): number {
  const x = px * w - 0.5;
  const y = py * h - 0.5;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  let acc = 0;
  for (const [yy, xx, wt] of [
    [y0, x0, (1 - fy) * (1 - fx)],
    [y0, x0 + 1, (1 - fy) * fx],
    [y0 + 1, x0, fy * (1 - fx)],
    [y0 + 1, x0 + 1, fy * fx],
  ] as const) {
    if (yy >= 0 && yy < h && xx >= 0 && xx < w) acc += wt * map[yy * w + xx]!;
  }
  return acc;
}

/** `F.interpolate(mode='nearest')` index map: source index of each output index. */
export function torchNearestIndex(outSize: number, inSize: number): number[] {
  return Array.from({ length: outSize }, (_, i) => Math.min(Math.floor((i * inSize) / outSize), inSize - 1));
}

/** Numerically stable `log(1 + e^x)`. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** Logistic sigmoid. */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
