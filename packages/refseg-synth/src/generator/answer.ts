/** Words that follow the phrase span in the answer when nothing matches. */
export const NO_MATCH_ANSWER = 'no object matches';

/** Prompt verbs; a sample's prompt is `<verb> <expression>`. */
export const PROMPT_VERBS = ['segment', 'find', 'show me'] as const;

/**
 * The answer a language model should produce.
 * - one or more targets: `<p> phrase₁ </p> <SEG> <p> phrase₂ </p> <SEG> …` — one span and one
 *   `<SEG>` per target, in the order given;
 * - no target: `<p> phrase </p> no object matches` — the span, and no `<SEG>`.
 */
export function formatAnswer(spans: readonly string[], hasTargets: boolean): string {
  if (!hasTargets) return `<p> ${spans[0]} </p> ${NO_MATCH_ANSWER}`;
  return spans.map((s) => `<p> ${s} </p> <SEG>`).join(' ');
}
