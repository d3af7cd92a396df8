import { sameAttributes, type ObjectAttributes } from '../scene/attributes.js';
import { buildScene, type ObjectSpec } from '../scene/buildScene.js';
import { describeScene } from '../scene/describeScene.js';
import type { Scene } from '../scene/Scene.js';
import type { AttributeFilter, Expression } from '../expression/Expression.js';
import { renderExpression } from '../expression/renderExpression.js';
import { resolveOptions, type ResolvedSynthOptions, type SynthOptions } from '../options.js';
import { Prng } from '../random/Prng.js';
import { SynthValueError } from '../errors.js';
import { PROMPT_VERBS, formatAnswer } from './answer.js';
import { FAMILIES, FAMILY_TEMPLATES, type Family } from './families.js';
import { drawAttributes, filterOf, spec, specMatches, type FilterKey } from './specTools.js';
import type { TemplateInstance } from './Template.js';

/** One `<SEG>` of an answer and the object it segments. */
export interface SegTarget {
  /** Id of the target object; its mask is `scene.masks[objectId]`. */
  readonly objectId: number;
  /** Text inside this target's `<p> … </p>` span. */
  readonly phrase: string;
  /** Structured form of `phrase` (refers to exactly this object). */
  readonly phraseExpression: Expression;
}

/** A scene with a referring expression, its structured form, the answer and the targets. */
export interface ReferringSample {
  /** Seed the sample was generated from. */
  readonly seed: number;
  /** Expression family. */
  readonly family: Family;
  /** Template within the family (e.g. `relation`, `superlative`, `same-color`). */
  readonly template: string;
  /** Image, objects and visible instance masks. */
  readonly scene: Scene;
  /** Structured expression (what the independent evaluator checks). */
  readonly expression: Expression;
  /** The expression in words, e.g. `the small red circle`. */
  readonly text: string;
  /** The instruction for the language model, e.g. `segment the small red circle`. */
  readonly prompt: string;
  /** Expected model answer, e.g. `<p> the small red circle </p> <SEG>` (grammar: `formatAnswer`). */
  readonly answer: string;
  /** Texts of the answer's `<p> … </p>` spans, in order. */
  readonly spans: readonly string[];
  /** One entry per `<SEG>`, in answer order (left to right by centre for several); empty when nothing matches. */
  readonly targets: readonly SegTarget[];
  /** Scene description for vision–language alignment. */
  readonly description: string;
}

const MAX_ATTEMPTS = 200;

/** Keys tried, in order, for the shortest unique description of a target. */
const DESCRIPTION_KEYS: ReadonlyArray<readonly FilterKey[]> = [['shape'], ['color', 'shape'], ['size', 'shape'], ['size', 'color', 'shape']];

/**
 * Generates one sample of a family from a seed. The scene is built around the expression:
 * a template picks the target(s), distractors that share their attributes, anchors and layout
 * constraints; fillers avoid everything that could change the referent. Deterministic: the
 * same seed and options give byte-identical images, masks and text.
 */
export function generateReferringSample(seed: number, family: Family, options: SynthOptions = {}): ReferringSample {
  if (!FAMILIES.includes(family)) throw new SynthValueError(`unknown family ${String(family)}; expected one of ${FAMILIES.join(', ')}`, 'family');
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new SynthValueError(`seed must be a 32-bit unsigned integer, got ${seed}`, 'seed');
  const o = resolveOptions(options);
  const rng = new Prng(seed);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const budget = rng.int(o.minObjects, o.maxObjects);
    const { template } = rng.pickWeighted(FAMILY_TEMPLATES[family], (t) => t.weight);
    const inst = template(rng, { options: o, budget });
    if (inst === null || inst.specs.length > budget) continue;
    const specs = addFillers(rng, inst, budget, o);
    if (specs === null) continue;
    const phraseFilters = inst.describeTargets ? inst.targets.map((t) => shortestUniqueFilter(specs, t)) : [];
    if (phraseFilters.some((f) => f === null)) continue;
    const built = buildScene(specs, inst.constraints, rng, o);
    if (built === null) continue;
    const { scene, objectOfSpec } = built;
    const text = renderExpression(inst.expression);
    let targets: SegTarget[] = inst.targets.map((t, k) => {
      const phraseExpression: Expression = inst.describeTargets ? { quantity: 'one', ref: { type: 'filter', filter: phraseFilters[k]! } } : inst.expression;
      return { objectId: objectOfSpec[t]!, phrase: renderExpression(phraseExpression), phraseExpression };
    });
    // Several targets are answered left to right.
    targets = targets.sort((a, b) => scene.objects[a.objectId]!.cx - scene.objects[b.objectId]!.cx || scene.objects[a.objectId]!.cy - scene.objects[b.objectId]!.cy);
    const spans = targets.length > 0 ? targets.map((t) => t.phrase) : [text];
    return {
      seed,
      family,
      template: inst.template,
      scene,
      expression: inst.expression,
      text,
      prompt: `${rng.pick(PROMPT_VERBS)} ${text}`,
      answer: formatAnswer(spans, targets.length > 0),
      spans,
      targets,
      description: describeScene(scene),
    };
  }
  throw new Error(`refseg-synth: no well-posed ${family} sample after ${MAX_ATTEMPTS} attempts (seed ${seed}); options too tight?`);
}

/** Template specs followed by fillers up to `budget`, or `null` if no admissible filler was found. */
function addFillers(rng: Prng, inst: TemplateInstance, budget: number, o: ResolvedSynthOptions): ObjectSpec[] | null {
  const specs = inst.specs.slice();
  const targetAttrs: ObjectAttributes[] = inst.targets.map((t) => inst.specs[t]!);
  const ok = (a: ObjectAttributes) =>
    !inst.fillerExcludes.some((f) => specMatches(a, f)) && !targetAttrs.some((t) => sameAttributes(a, t)) && (inst.fillerOk?.(a) ?? true);
  while (specs.length < budget) {
    const a = drawAttributes(rng, ok);
    if (a === null) return null;
    specs.push(spec(rng, a, o));
  }
  return specs;
}

/** The first of {@link DESCRIPTION_KEYS} whose filter only the target's attributes satisfy. */
function shortestUniqueFilter(specs: readonly ObjectSpec[], target: number): AttributeFilter | null {
  for (const keys of DESCRIPTION_KEYS) {
    const f = filterOf(specs[target]!, keys);
    if (specs.filter((s) => specMatches(s, f)).length === 1) return f;
  }
  return null;
}
