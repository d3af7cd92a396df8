import type { ObjectAttributes } from '../scene/attributes.js';
import type { LayoutConstraint, ObjectSpec } from '../scene/buildScene.js';
import type { AttributeFilter, Expression } from '../expression/Expression.js';
import type { ResolvedSynthOptions } from '../options.js';
import type { Prng } from '../random/Prng.js';

/** What a template may use. */
export interface TemplateContext {
  /** Resolved generator options. */
  readonly options: ResolvedSynthOptions;
  /** Total objects the scene will have; a template's own specs never exceed it. */
  readonly budget: number;
}

/**
 * An expression together with the objects that make it well posed: the target(s), the
 * distractors that share attributes with them, anchors, and the layout constraints that
 * decide spatial relations. Fillers are added afterwards and must avoid `fillerExcludes`.
 */
export interface TemplateInstance {
  /** Template name (recorded in each sample). */
  readonly template: string;
  /** Explicit objects, placed in this order (constrained ones first). */
  readonly specs: readonly ObjectSpec[];
  /** Layout constraints between specs. */
  readonly constraints: readonly LayoutConstraint[];
  /** The referring expression. */
  readonly expression: Expression;
  /** Spec indices of the referents (empty for the empty family). */
  readonly targets: readonly number[];
  /** A filler may match none of these filters. */
  readonly fillerExcludes: readonly AttributeFilter[];
  /** Extra condition on fillers (e.g. "fewer corners than the target"). */
  readonly fillerOk?: (attrs: ObjectAttributes) => boolean;
  /**
   * Whether each target's answer span is its shortest unique attribute description
   * (reasoning and multi-target) rather than the expression itself.
   */
  readonly describeTargets: boolean;
}

/** Builds one template instance, or `null` when the random draw cannot be made well posed. */
export type Template = (rng: Prng, ctx: TemplateContext) => TemplateInstance | null;
