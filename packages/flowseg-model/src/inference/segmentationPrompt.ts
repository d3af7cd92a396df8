import { ValueError } from '@flowseg/core';
import { pretokenize } from '../tokenizer/pretokenize.js';

/**
 * Words that already make an expression an instruction: `segment`, `find`, `show` (as in
 * "show me"), `describe`, `highlight`, `locate`, `select`.
 */
export const INSTRUCTION_VERBS: readonly string[] = ['segment', 'find', 'show', 'describe', 'highlight', 'locate', 'select'];

/**
 * The prompt for a referring expression. Rule: when the expression's first word (lowercased,
 * as the tokenizer splits it) is one of {@link INSTRUCTION_VERBS}, the expression is the prompt
 * as it is (`"find the red circle"`); otherwise it becomes `segment <expression>`
 * (`"the red circle"` → `"segment the red circle"`). Surrounding whitespace is trimmed.
 * @throws ValueError for an expression without any word.
 */
export function segmentationPrompt(expression: string): string {
  if (typeof expression !== 'string') {
    throw new ValueError(`expression: expected a string, received ${typeof expression}`, 'expression');
  }
  const text = expression.trim().replace(/\s+/g, ' ');
  const words = pretokenize(text);
  if (words.length === 0) throw new ValueError('expression: expected at least one word', 'expression');
  return INSTRUCTION_VERBS.includes(words[0]!) ? text : `segment ${text}`;
}
