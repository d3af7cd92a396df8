import { COLORS, SHAPES, SIZES, type ReferringSample } from '@flowseg/refseg-synth';
import type { ReferringExample } from './ReferringExample.js';

/** Classes of the synthetic benchmark's attribute groups, in the order of {@link fromRefSegSample}'s `instanceAttributes`: shape, colour, size. */
export const REFSEG_ATTRIBUTE_CLASSES: readonly number[] = [SHAPES.length, COLORS.length, SIZES.length];

/** Convert a `@flowseg/refseg-synth` sample into a {@link ReferringExample} (attributes: shape, colour, size indices). */
export function fromRefSegSample(sample: ReferringSample): ReferringExample {
  const { scene } = sample;
  return {
    image: scene.image,
    width: scene.width,
    height: scene.height,
    prompt: sample.prompt,
    answer: sample.answer,
    targetMasks: sample.targets.map((t) => scene.masks[t.objectId]!),
    targetInstances: sample.targets.map((t) => t.objectId),
    instanceMasks: scene.masks,
    instanceAttributes: scene.objects.map((o) => [SHAPES.indexOf(o.shape), COLORS.indexOf(o.color), SIZES.indexOf(o.size)]),
    description: sample.description,
    family: sample.family,
  };
}
