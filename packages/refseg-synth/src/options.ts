import { SynthValueError } from './errors.js';

/** Generator options; every field has a documented default (see {@link DEFAULT_SYNTH_OPTIONS}). */
export interface SynthOptions {
  /** Image width in pixels (16–1024). Default 64. */
  readonly width?: number;
  /** Image height in pixels (16–1024). Default 64. */
  readonly height?: number;
  /** Fewest objects per scene (≥ 3). Default 3. */
  readonly minObjects?: number;
  /** Most objects per scene (≤ 10). Default 7. */
  readonly maxObjects?: number;
  /** Each object keeps at least this fraction of its full area visible after occlusion. Default 0.75 (shapes stay recognisable). */
  readonly minVisibleFraction?: number;
  /** Each object keeps at least this many visible pixels. Default 12. */
  readonly minVisiblePixels?: number;
  /** Area range `[lo, hi]` of "small" objects as fractions of the image area. Default [0.02, 0.032]. */
  readonly smallArea?: readonly [number, number];
  /** Area range `[lo, hi]` of "large" objects as fractions of the image area. Default [0.065, 0.1]. */
  readonly largeArea?: readonly [number, number];
  /**
   * Spatial relations and left/right/top/bottom-most are only used when every compared centre
   * differs by more than this fraction of min(width, height). Default 0.06 (≈ 4 px at 64).
   */
  readonly positionMargin?: number;
  /** "larger"/"largest" are only used when the compared areas differ by more than this ratio. Default 1.25. */
  readonly areaRatioMargin?: number;
  /** Objects are rotated uniformly within ± this many radians. Default 0.25. */
  readonly rotationJitter?: number;
  /** Mixed into every sample seed, to draw a different benchmark with the same scheme. Default 0. */
  readonly baseSeed?: number;
}

/** {@link SynthOptions} with every default filled in. */
export type ResolvedSynthOptions = { readonly [K in keyof SynthOptions]-?: NonNullable<SynthOptions[K]> };

/** The defaults of {@link SynthOptions}. */
export const DEFAULT_SYNTH_OPTIONS: ResolvedSynthOptions = {
  width: 64,
  height: 64,
  minObjects: 3,
  maxObjects: 7,
  minVisibleFraction: 0.75,
  minVisiblePixels: 12,
  smallArea: [0.02, 0.032],
  largeArea: [0.065, 0.1],
  positionMargin: 0.06,
  areaRatioMargin: 1.25,
  rotationJitter: 0.25,
  baseSeed: 0,
};

/** Fills defaults and validates; throws {@link SynthValueError} naming the bad option. */
export function resolveOptions(options: SynthOptions = {}): ResolvedSynthOptions {
  const o: ResolvedSynthOptions = { ...DEFAULT_SYNTH_OPTIONS, ...stripUndefined(options) };
  const intIn = (name: keyof SynthOptions, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new SynthValueError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`, name);
  };
  const numIn = (name: keyof SynthOptions, v: number, lo: number, hi: number) => {
    if (!Number.isFinite(v) || v < lo || v > hi) throw new SynthValueError(`${name} must be a number in [${lo}, ${hi}], got ${v}`, name);
  };
  intIn('width', o.width, 16, 1024);
  intIn('height', o.height, 16, 1024);
  intIn('minObjects', o.minObjects, 3, 10);
  intIn('maxObjects', o.maxObjects, o.minObjects, 10);
  numIn('minVisibleFraction', o.minVisibleFraction, 0.1, 1);
  intIn('minVisiblePixels', o.minVisiblePixels, 1, o.width * o.height);
  for (const name of ['smallArea', 'largeArea'] as const) {
    const [lo, hi] = o[name];
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo > 0 && lo <= hi && hi <= 0.25)) {
      throw new SynthValueError(`${name} must be [lo, hi] with 0 < lo ≤ hi ≤ 0.25, got [${lo}, ${hi}]`, name);
    }
  }
  numIn('areaRatioMargin', o.areaRatioMargin, 1, 4);
  // The size words must be unambiguous: every large object is clearly larger than every small one.
  if (o.largeArea[0] <= o.smallArea[1] * o.areaRatioMargin) {
    throw new SynthValueError(
      `largeArea[0] (${o.largeArea[0]}) must exceed smallArea[1] · areaRatioMargin (${o.smallArea[1] * o.areaRatioMargin})`,
      'largeArea',
    );
  }
  numIn('positionMargin', o.positionMargin, 0, 0.2);
  numIn('rotationJitter', o.rotationJitter, 0, Math.PI);
  intIn('baseSeed', o.baseSeed, 0, 0xffffffff);
  return o;
}

/** Margins (in pixels / as a ratio) that the generator guarantees and the evaluator checks. */
export interface ComparisonMargins {
  /** Centres compared on one axis differ by more than this many pixels. */
  readonly positionPx: number;
  /** Areas compared for size differ by more than this ratio. */
  readonly areaRatio: number;
}

/** The comparison margins implied by resolved options. */
export function comparisonMargins(o: ResolvedSynthOptions): ComparisonMargins {
  return { positionPx: o.positionMargin * Math.min(o.width, o.height), areaRatio: o.areaRatioMargin };
}

function stripUndefined(options: SynthOptions): SynthOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as SynthOptions;
}
