import { Prng } from '../random/Prng.js';

/** A low-contrast, near-grey background texture, fully described by these numbers. */
export interface BackgroundSpec {
  /** Texture kind: smooth value noise or sinusoidal stripes. */
  readonly kind: 'noise' | 'stripes';
  /** Mean RGB: a grey level in [90, 170] plus a per-channel tint in [−8, 8]. */
  readonly base: readonly [number, number, number];
  /** Peak deviation from the base, added equally to all channels (6–14 grey levels). */
  readonly amplitude: number;
  /** Noise: lattice cells per image side; stripes: period in pixels. */
  readonly scale: number;
  /** Stripes: direction in radians; noise: unused (0). */
  readonly angle: number;
  /** Seed of the noise lattice / stripe phase. */
  readonly seed: number;
}

/** Draws a random background spec. */
export function sampleBackground(rng: Prng): BackgroundSpec {
  const grey = rng.int(90, 170);
  const kind = rng.chance(0.5) ? 'noise' : 'stripes';
  return {
    kind,
    base: [grey + rng.int(-8, 8), grey + rng.int(-8, 8), grey + rng.int(-8, 8)],
    amplitude: rng.int(6, 14),
    scale: kind === 'noise' ? rng.int(3, 8) : rng.int(6, 16),
    angle: kind === 'noise' ? 0 : rng.uniform(0, Math.PI),
    seed: rng.nextUint32(),
  };
}

/** Paints the background into an RGB `[height, width, 3]` image. */
export function paintBackground(spec: BackgroundSpec, width: number, height: number, image: Uint8Array): void {
  const rng = new Prng(spec.seed);
  const field = new Float64Array(width * height);
  if (spec.kind === 'noise') {
    // Value noise: random lattice in [−1, 1], bilinearly interpolated.
    const n = spec.scale + 1;
    const lattice = Float64Array.from({ length: n * n }, () => rng.uniform(-1, 1));
    for (let y = 0; y < height; y++) {
      const gy = ((y + 0.5) / height) * spec.scale;
      const j = Math.min(Math.floor(gy), spec.scale - 1);
      const fy = gy - j;
      for (let x = 0; x < width; x++) {
        const gx = ((x + 0.5) / width) * spec.scale;
        const i = Math.min(Math.floor(gx), spec.scale - 1);
        const fx = gx - i;
        const top = lattice[j * n + i]! * (1 - fx) + lattice[j * n + i + 1]! * fx;
        const bottom = lattice[(j + 1) * n + i]! * (1 - fx) + lattice[(j + 1) * n + i + 1]! * fx;
        field[y * width + x] = top * (1 - fy) + bottom * fy;
      }
    }
  } else {
    const phase = rng.uniform(0, 2 * Math.PI);
    const c = Math.cos(spec.angle);
    const s = Math.sin(spec.angle);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) field[y * width + x] = Math.sin((2 * Math.PI * ((x + 0.5) * c + (y + 0.5) * s)) / spec.scale + phase);
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = Math.round(spec.amplitude * field[y * width + x]!);
      const o = (y * width + x) * 3;
      image[o] = spec.base[0] + d;
      image[o + 1] = spec.base[1] + d;
      image[o + 2] = spec.base[2] + d;
    }
  }
}
