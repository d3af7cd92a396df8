import { VOCABULARY_WORDS } from '@flowseg/refseg-synth';
import { WordTokenizer } from '../tokenizer/WordTokenizer.js';
import { DESCRIBE_PROMPT } from '../training/trainingStages.js';

/**
 * The word-level tokenizer of the built-in synthetic benchmark: FlowSeg's special tokens,
 * every word `@flowseg/refseg-synth` can emit, and the words of the alignment prompt.
 */
export function syntheticTokenizer(): WordTokenizer {
  const words = [...VOCABULARY_WORDS];
  for (const w of DESCRIBE_PROMPT.split(' ')) if (!words.includes(w)) words.push(w);
  return new WordTokenizer(words);
}
