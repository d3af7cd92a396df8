import type { ReferringSample } from '@flowseg/refseg-synth';
import type { ReferringExample } from './ReferringExample.js';

/** Convert a `@flowseg/refseg-synth` sample into a {@link ReferringExample}. */
export function fromRefSegSample(sample: ReferringSample): ReferringExample {
  const { scene } = sample;
  return {
    image: scene.image,
    width: scene.width,
    height: scene.height,
    prompt: sample.prompt,
    answer: sample.answer,
    targetMasks: sample.targets.map((t) => scene.masks[t.objectId]!),
    instanceMasks: scene.masks,
    description: sample.description,
    family: sample.family,
  };
}
