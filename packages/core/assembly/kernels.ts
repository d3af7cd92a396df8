// FlowSeg's own wasm kernels, in AssemblyScript. `npm run build:wasm-kernels` compiles this
// file twice (shared and plain memory) into src/backend/wasm/generated/kernelsWasm.ts.
//
// The module imports tfjs-backend-wasm's memory and works on tensors in place: every pointer
// is a byte offset into that heap. It must never allocate or hold static data (it would
// write into memory tfjs owns), so it is compiled with the stub runtime and no asserts, and
// core's tests check that it has no data segment.
//
// Why not JS loops over the heap: in the threaded build the heap is a SharedArrayBuffer, and
// V8 runs typed-array loops over shared memory about 2× slower; wasm reads it at full speed,
// with SIMD.

/** Tile of a tall matrix (rows ≥ cols): 64 rows × 8 columns; a wide one uses 8 × 64. */
const LONG_SIDE: i32 = 64;
const SHORT_SIDE: i32 = 8;

/** Transpose the 4×4 block of words at `s` (row stride `rs` bytes) into `d` (row stride `ds`). */
// @ts-ignore: decorator
@inline
function transposeBlock4(s: usize, rs: usize, d: usize, ds: usize): void {
  const a0 = v128.load(s);
  const a1 = v128.load(s + rs);
  const a2 = v128.load(s + 2 * rs);
  const a3 = v128.load(s + 3 * rs);
  const lo01 = v128.shuffle<i32>(a0, a1, 0, 4, 1, 5);
  const lo23 = v128.shuffle<i32>(a2, a3, 0, 4, 1, 5);
  const hi01 = v128.shuffle<i32>(a0, a1, 2, 6, 3, 7);
  const hi23 = v128.shuffle<i32>(a2, a3, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<i64>(lo01, lo23, 0, 2));
  v128.store(d + ds, v128.shuffle<i64>(lo01, lo23, 1, 3));
  v128.store(d + 2 * ds, v128.shuffle<i64>(hi01, hi23, 0, 2));
  v128.store(d + 3 * ds, v128.shuffle<i64>(hi01, hi23, 1, 3));
}

/** One `rows × cols` matrix of 4-byte words: `dst[c][r] = src[r][c]`. */
function transposeMatrix(src: usize, dst: usize, rows: i32, cols: i32): void {
  const rs = (<usize>cols) << 2;
  const ds = (<usize>rows) << 2;
  const rows4 = rows & ~3;
  const cols4 = cols & ~3;
  // Rectangular tiles along the long side keep both the strided side's lines in cache
  // (square tiles thrash on power-of-two strides: [4096, 256] took 2× longer).
  const tileRows = rows >= cols ? LONG_SIDE : SHORT_SIDE;
  const tileCols = rows >= cols ? SHORT_SIDE : LONG_SIDE;
  for (let r0 = 0; r0 < rows4; r0 += tileRows) {
    const r1 = min(r0 + tileRows, rows4);
    for (let c0 = 0; c0 < cols4; c0 += tileCols) {
      const c1 = min(c0 + tileCols, cols4);
      for (let c = c0; c < c1; c += 4) {
        for (let r = r0; r < r1; r += 4) {
          transposeBlock4(src + (((<usize>r) * cols + c) << 2), rs, dst + (((<usize>c) * rows + r) << 2), ds);
        }
      }
    }
  }
  // Edges the 4×4 blocks leave: columns ≥ cols4 of the first rows4 rows, then the last rows.
  for (let r = 0; r < rows; r++) {
    for (let c = r < rows4 ? cols4 : 0; c < cols; c++) {
      store<u32>(dst + (((<usize>c) * rows + r) << 2), load<u32>(src + (((<usize>r) * cols + c) << 2)));
    }
  }
}

/**
 * `batch` matrices of `rows × cols` 4-byte words (float32 or int32, moved as bits):
 * `dst[g][c][r] = src[g][r][c]`.
 */
export function transposeWords(src: usize, dst: usize, batch: i32, rows: i32, cols: i32): void {
  const size = ((<usize>rows) * cols) << 2;
  for (let g = 0; g < batch; g++) transposeMatrix(src + g * size, dst + g * size, rows, cols);
}

/**
 * `batch` matrices of `rows × cols` chunks of `inner` 4-byte words:
 * `dst[g][c][r][k] = src[g][r][c][k]` (e.g. attention's head split `[N, h, d] → [h, N, d]`).
 */
export function transposeChunks(src: usize, dst: usize, batch: i32, rows: i32, cols: i32, inner: i32): void {
  const chunk = (<usize>inner) << 2;
  const inner4 = (<usize>(inner & ~3)) << 2;
  for (let g = 0; g < batch; g++) {
    const base = (<usize>g) * rows * cols * chunk;
    for (let r = 0; r < rows; r++) {
      let s = src + base + (<usize>r) * cols * chunk;
      for (let c = 0; c < cols; c++) {
        const d = dst + base + ((<usize>c) * rows + r) * chunk;
        let k: usize = 0;
        for (; k < inner4; k += 16) v128.store(d + k, v128.load(s + k));
        for (; k < chunk; k += 4) store<u32>(d + k, load<u32>(s + k));
        s += chunk;
      }
    }
  }
}

/** Comparison codes of {@link compareF32} (the order of core's `WASM_COMPARE_CODES`). */
const LESS = 0;
const LESS_EQUAL = 1;
const GREATER = 2;
const GREATER_EQUAL = 3;
const EQUAL = 4;
const NOT_EQUAL = 5;

// @ts-ignore: decorator
@inline
function compare(op: i32, x: f32, y: f32): u8 {
  if (op == LESS) return <u8>(x < y);
  if (op == LESS_EQUAL) return <u8>(x <= y);
  if (op == GREATER) return <u8>(x > y);
  if (op == GREATER_EQUAL) return <u8>(x >= y);
  if (op == EQUAL) return <u8>(x == y);
  return <u8>(x != y);
}

// @ts-ignore: decorator
@inline
function compare4(op: i32, x: v128, y: v128): v128 {
  if (op == LESS) return f32x4.lt(x, y);
  if (op == LESS_EQUAL) return f32x4.le(x, y);
  if (op == GREATER) return f32x4.gt(x, y);
  if (op == GREATER_EQUAL) return f32x4.ge(x, y);
  if (op == EQUAL) return f32x4.eq(x, y);
  return f32x4.ne(x, y);
}

/**
 * One run of `n` comparisons, `out[i] = a[i·sa] op b[i·sb]` as 0/1 bytes, for a constant `op`
 * (inlined per op, so the compiler drops the op tests from the loops). Contiguous `a` with
 * a fixed or contiguous `b` takes 16 elements per step with SIMD.
 */
// @ts-ignore: decorator
@inline
function compareRun(op: i32, out: usize, a: usize, sa: i32, b: usize, sb: i32, n: i32): void {
  let i = 0;
  if (sa == 1 && (sb == 0 || sb == 1)) {
    const one = i8x16.splat(1);
    const fixed = f32x4.splat(load<f32>(b));
    for (; i + 16 <= n; i += 16) {
      const pa = a + ((<usize>i) << 2);
      const pb = b + ((<usize>(i * sb)) << 2);
      const m0 = compare4(op, v128.load(pa), sb == 0 ? fixed : v128.load(pb));
      const m1 = compare4(op, v128.load(pa + 16), sb == 0 ? fixed : v128.load(pb + 16));
      const m2 = compare4(op, v128.load(pa + 32), sb == 0 ? fixed : v128.load(pb + 32));
      const m3 = compare4(op, v128.load(pa + 48), sb == 0 ? fixed : v128.load(pb + 48));
      // Lanes are all-ones or zero: narrowing keeps them so; masking leaves 1 or 0 per byte.
      const lanes = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(m0, m1), i16x8.narrow_i32x4_s(m2, m3));
      v128.store(out + i, v128.and(lanes, one));
    }
  }
  for (; i < n; i++) {
    store<u8>(out + i, compare(op, load<f32>(a + ((<usize>(i * sa)) << 2)), load<f32>(b + ((<usize>(i * sb)) << 2))));
  }
}

/**
 * `out[i] = a[i·sa] op b[i·sb]` for `i < n`, float32 operands, 0/1 bytes out; `sa`, `sb` are
 * element strides (0 repeats one element). `op` is one of the comparison codes above.
 */
export function compareF32(op: i32, out: usize, a: usize, sa: i32, b: usize, sb: i32, n: i32): void {
  switch (op) {
    case LESS:
      compareRun(LESS, out, a, sa, b, sb, n);
      break;
    case LESS_EQUAL:
      compareRun(LESS_EQUAL, out, a, sa, b, sb, n);
      break;
    case GREATER:
      compareRun(GREATER, out, a, sa, b, sb, n);
      break;
    case GREATER_EQUAL:
      compareRun(GREATER_EQUAL, out, a, sa, b, sb, n);
      break;
    case EQUAL:
      compareRun(EQUAL, out, a, sa, b, sb, n);
      break;
    default:
      compareRun(NOT_EQUAL, out, a, sa, b, sb, n);
  }
}

/** Sum of a vector's four float lanes. */
// @ts-ignore: decorator
@inline
function laneSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Sum of `n` floats at `p` (four SIMD lanes, then the tail). */
// @ts-ignore: decorator
@inline
function sumF32(p: usize, n: i32): f32 {
  const n4 = n & ~3;
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i < n4; i += 4) acc = f32x4.add(acc, v128.load(p + ((<usize>i) << 2)));
  let sum = laneSum(acc);
  for (; i < n; i++) sum += load<f32>(p + ((<usize>i) << 2));
  return sum;
}

/** Sum of `(p[i] − mean)²` for `i < n`. */
// @ts-ignore: decorator
@inline
function squaredDeviationSum(p: usize, n: i32, mean: f32): f32 {
  const n4 = n & ~3;
  const m = f32x4.splat(mean);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i < n4; i += 4) {
    const d = f32x4.sub(v128.load(p + ((<usize>i) << 2)), m);
    acc = f32x4.add(acc, f32x4.mul(d, d));
  }
  let sum = laneSum(acc);
  for (; i < n; i++) {
    const d = load<f32>(p + ((<usize>i) << 2)) - mean;
    sum += d * d;
  }
  return sum;
}

/**
 * Layer normalization of `rows` rows of `cols` floats: `out = (s − μ)/√(σ² + ε)·γ + β` with
 * `s = x`, or `s = x + residual` when `hasResidual` (a post-norm block's sum, formed in `out`),
 * and each row's mean `μ` and biased variance `σ²` (two passes over the row, as `tf.moments`).
 * `gamma` and `beta` hold `cols` floats; `out` may not overlap `x` or `residual`.
 */
export function layerNormF32(x: usize, residual: usize, hasResidual: bool, gamma: usize, beta: usize, out: usize, rows: i32, cols: i32, epsilon: f32): void {
  const cols4 = cols & ~3;
  const scale = <f32>1 / <f32>cols;
  for (let r = 0; r < rows; r++) {
    const dst = out + (((<usize>r) * cols) << 2);
    let src = x + (((<usize>r) * cols) << 2);
    if (hasResidual) {
      const add = residual + (((<usize>r) * cols) << 2);
      let c = 0;
      for (; c < cols4; c += 4) v128.store(dst + ((<usize>c) << 2), f32x4.add(v128.load(src + ((<usize>c) << 2)), v128.load(add + ((<usize>c) << 2))));
      for (; c < cols; c++) store<f32>(dst + ((<usize>c) << 2), load<f32>(src + ((<usize>c) << 2)) + load<f32>(add + ((<usize>c) << 2)));
      src = dst; // normalized in place below: each element is read before it is written
    }
    const mean = sumF32(src, cols) * scale;
    const rstd = <f32>1 / sqrt<f32>(squaredDeviationSum(src, cols, mean) * scale + epsilon);
    const m = f32x4.splat(mean);
    const s = f32x4.splat(rstd);
    let c = 0;
    for (; c < cols4; c += 4) {
      const at = (<usize>c) << 2;
      const normed = f32x4.mul(f32x4.sub(v128.load(src + at), m), s);
      v128.store(dst + at, f32x4.add(f32x4.mul(normed, v128.load(gamma + at)), v128.load(beta + at)));
    }
    for (; c < cols; c++) {
      const at = (<usize>c) << 2;
      store<f32>(dst + at, (load<f32>(src + at) - mean) * rstd * load<f32>(gamma + at) + load<f32>(beta + at));
    }
  }
}
