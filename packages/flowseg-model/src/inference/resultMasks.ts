import { ValueError } from '@flowseg/core';
import type { BinaryMask, RgbColor, RgbImage } from '../image/imageTypes.js';
import { OVERLAY_COLORS, renderOverlay, type OverlayMask } from '../image/renderOverlay.js';
import type { SegmentResult } from './segmentTypes.js';

/** The union of every target's mask, at the image's resolution (all zero when there is no target). */
export function unionMask(result: SegmentResult): BinaryMask {
  const data = new Uint8Array(result.imageWidth * result.imageHeight);
  for (const t of result.targets) for (let i = 0; i < data.length; i++) if (t.mask.data[i]) data[i] = 1;
  return { data, width: result.imageWidth, height: result.imageHeight };
}

/** Options of {@link renderResultOverlay}. */
export interface ResultOverlayOptions {
  /** Tint strength in `[0, 1]` (default 0.5). */
  readonly opacity?: number;
  /**
   * Outline the best `k` non-selected candidates of each target, by selection score (default 0).
   * Needs the result's candidates at image resolution (`candidates: 'image'`, the default).
   */
  readonly candidateOutlines?: number;
  /** Colour of candidate outlines (default white). */
  readonly outlineColor?: RgbColor;
}

/**
 * The image with each target's mask tinted ({@link OVERLAY_COLORS}, target `k` in colour `k`)
 * and, optionally, the outlines of its runner-up candidates. Browser-safe.
 * @throws ValueError when candidate outlines are asked for but the result holds no image-resolution candidates.
 */
export function renderResultOverlay(image: RgbImage, result: SegmentResult, options: ResultOverlayOptions = {}): RgbImage {
  const k = options.candidateOutlines ?? 0;
  if (!Number.isInteger(k) || k < 0) {
    throw new ValueError(`candidateOutlines: expected a non-negative integer, received ${String(k)}`, 'candidateOutlines');
  }
  const outlines: OverlayMask[] = [];
  if (k > 0) {
    for (const t of result.targets) {
      const others = t.candidates.filter((c) => c.index !== t.selectedIndex);
      if (t.candidates.length > 0 && t.candidates[0]!.mask.width !== result.imageWidth) {
        throw new ValueError(
          "candidateOutlines: the result's candidates are at mask resolution; segment with candidates: 'image'",
          'candidateOutlines',
        );
      }
      others
        .sort((a, b) => b.score - a.score)
        .slice(0, k)
        .forEach((c) => outlines.push({ mask: c.mask, ...(options.outlineColor ? { color: options.outlineColor } : {}) }));
    }
  }
  return renderOverlay(
    image,
    result.targets.map((t, i) => ({ mask: t.mask, color: OVERLAY_COLORS[i % OVERLAY_COLORS.length]! })),
    { ...(options.opacity === undefined ? {} : { opacity: options.opacity }), outlines },
  );
}
