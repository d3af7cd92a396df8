/**
 * One training or evaluation example for FlowSeg, independent of where it came from (the
 * built-in synthetic benchmark, or a user's own data set).
 */
export interface ReferringExample {
  /** RGB image `[height, width, 3]`, row-major, one byte per channel. */
  readonly image: Uint8Array;
  /** Image width in pixels. */
  readonly width: number;
  /** Image height in pixels. */
  readonly height: number;
  /** Instruction, e.g. `segment the small red circle`. */
  readonly prompt: string;
  /** Expected answer with `<p>…</p>` phrases and one `<SEG>` per target (none when nothing matches). */
  readonly answer: string;
  /** Mask of the target of each `<SEG>`, in answer order, `[height·width]` 0/1. */
  readonly targetMasks: readonly Uint8Array[];
  /** Visible masks of every object in the scene (segmentor pretraining), `[height·width]` 0/1. */
  readonly instanceMasks: readonly Uint8Array[];
  /**
   * Attribute classes of every object, aligned with `instanceMasks`: one class index per
   * attribute group of the model's `attributeClasses` (e.g. `[shape, colour, size]`). Needed
   * only to pretrain a segmentor with an attribute head.
   */
  readonly instanceAttributes?: readonly (readonly number[])[];
  /**
   * Which object of `instanceMasks` each target is, aligned with `targetMasks`. Needed only for
   * the joint stage's attribute supervision (`jointAttributes`), which reads the targets' rows
   * of `instanceAttributes`.
   */
  readonly targetInstances?: readonly number[];
  /** Scene description (vision–language alignment), if any. */
  readonly description?: string;
  /** Family or split label used when reporting metrics per family. */
  readonly family?: string;
}
