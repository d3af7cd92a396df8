import type { BackgroundSpec } from '../scene/background.js';
import type { SceneObject } from '../scene/Scene.js';
import type { Expression } from '../expression/Expression.js';
import type { Family } from '../generator/families.js';
import type { ResolvedSynthOptions } from '../options.js';

/** Format tag of `manifest.json`. */
export const MANIFEST_FORMAT = 'flowseg-refseg-synth';

/** One target of an exported sample. */
export interface ManifestTarget {
  /** Id of the target object. */
  readonly objectId: number;
  /** Text of its answer span. */
  readonly phrase: string;
  /** Structured form of the span. */
  readonly phraseExpression: Expression;
  /** Path of its visible mask PNG (greyscale, 255 inside, 0 outside), relative to the export folder. */
  readonly mask: string;
}

/** One exported sample: everything but the pixels, plus the paths of its PNGs. */
export interface ManifestEntry {
  /** Sample id (`split/family/index` for benchmark samples). */
  readonly id: string;
  /** Generation seed. */
  readonly seed: number;
  /** Expression family. */
  readonly family: Family;
  /** Template within the family. */
  readonly template: string;
  /** Image width. */
  readonly width: number;
  /** Image height. */
  readonly height: number;
  /** Path of the RGB image PNG. */
  readonly image: string;
  /** Path of the instance map PNG (greyscale: 0 background, object id + 1 elsewhere). */
  readonly instances: string;
  /** Scene objects in drawing order. */
  readonly objects: readonly SceneObject[];
  /** Background texture parameters. */
  readonly background: BackgroundSpec;
  /** Structured expression. */
  readonly expression: Expression;
  /** Expression text. */
  readonly text: string;
  /** Prompt. */
  readonly prompt: string;
  /** Expected answer. */
  readonly answer: string;
  /** Answer span texts. */
  readonly spans: readonly string[];
  /** Targets in answer order. */
  readonly targets: readonly ManifestTarget[];
  /** Scene description. */
  readonly description: string;
}

/** Contents of `manifest.json`. */
export interface ExportManifest {
  /** Always {@link MANIFEST_FORMAT}. */
  readonly format: typeof MANIFEST_FORMAT;
  /** Manifest version. */
  readonly version: 1;
  /** Options the samples were generated with, when known. */
  readonly options: ResolvedSynthOptions | null;
  /** The samples. */
  readonly samples: readonly ManifestEntry[];
}
