import { SPECIAL_TOKEN_LIST } from './specialTokens.js';

const escaped = SPECIAL_TOKEN_LIST.map((t) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
/** Special tokens (exact, case-sensitive), then runs of letters/digits, then single symbols. */
const TOKEN_PATTERN = new RegExp(`${escaped.join('|')}|[\\p{L}\\p{N}]+|[^\\s\\p{L}\\p{N}]`, 'gu');

/**
 * Split text into word-level token strings: special tokens (`<SEG>`, `<p>`, …) are matched
 * exactly and kept as they are; everything else is lowercased, and split into runs of
 * letters/digits and single punctuation characters (`"Red-ish, ball."` →
 * `red - ish , ball .`). Whitespace only separates.
 */
export function pretokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(TOKEN_PATTERN)) {
    const piece = m[0];
    out.push(SPECIAL_TOKEN_LIST.includes(piece) ? piece : piece.toLowerCase());
  }
  return out;
}
