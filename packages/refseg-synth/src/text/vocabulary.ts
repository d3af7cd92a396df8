/**
 * Special tokens, first in {@link VOCABULARY} so their ids are 0–7: padding, begin/end of
 * sequence, unknown word, an image placeholder, phrase span delimiters and the segmentation token.
 */
export const SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>', '<unk>', '<img>', '<p>', '</p>', '<SEG>'] as const;

/**
 * Every plain word the generator can emit (prompts, answers, expressions, scene descriptions)
 * after {@link tokenizeWords}: the special tokens excluded, in a fixed order (append only).
 * Pass this to a tokenizer that adds its own special tokens.
 */
export const VOCABULARY_WORDS: readonly string[] = [
  // punctuation
  ',',
  '.',
  // prompt verbs
  'segment',
  'find',
  'show',
  'me',
  // function words
  'the',
  'a',
  'all',
  'and',
  'of',
  'as',
  'but',
  'with',
  'at',
  'in',
  'no',
  // sizes
  'small',
  'large',
  // colours
  'red',
  'green',
  'blue',
  'yellow',
  'purple',
  'cyan',
  // shapes
  'circle',
  'triangle',
  'square',
  'pentagon',
  'hexagon',
  'star',
  'shape',
  'circles',
  'triangles',
  'squares',
  'pentagons',
  'hexagons',
  'stars',
  'shapes',
  // relations and positions
  'left',
  'right',
  'above',
  'below',
  'top',
  'bottom',
  'center',
  // superlatives and comparatives
  'leftmost',
  'rightmost',
  'topmost',
  'bottommost',
  'smallest',
  'largest',
  'smaller',
  'larger',
  // corners
  'corners',
  'most',
  'fewest',
  'three',
  'four',
  'five',
  'six',
  'ten',
  // reasoning
  'same',
  'different',
  'color',
  // empty answers
  'object',
  'matches',
];

/**
 * {@link SPECIAL_TOKENS} followed by {@link VOCABULARY_WORDS}: a complete word-level
 * vocabulary where a token's id is its index.
 */
export const VOCABULARY: readonly string[] = [...SPECIAL_TOKENS, ...VOCABULARY_WORDS];

/**
 * Splits generated text into vocabulary words: whitespace-separated, with `,` and `.` as
 * words of their own (`<p>`, `</p>`, `<SEG>` are already space-separated).
 */
export function tokenizeWords(text: string): string[] {
  return text
    .replace(/([,.])/g, ' $1 ')
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
}
