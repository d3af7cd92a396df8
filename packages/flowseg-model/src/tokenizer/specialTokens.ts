/**
 * The special tokens every FlowSeg tokenizer knows, in id order (`<pad>` = 0 … `<SEG>` = 6 in
 * {@link WordTokenizer}): padding, begin/end of sequence, unknown word, the phrase
 * delimiters `<p>`/`</p>` around the phrases that become condition embeddings, and `<SEG>`,
 * whose hidden state becomes the segmentation embedding.
 */
export const SPECIAL_TOKENS = {
  /** Padding. */
  pad: '<pad>',
  /** Beginning of sequence. */
  bos: '<bos>',
  /** End of sequence (generation stops after it). */
  eos: '<eos>',
  /** Unknown word. */
  unk: '<unk>',
  /** Opens a phrase (condition span). */
  phraseStart: '<p>',
  /** Closes a phrase. */
  phraseEnd: '</p>',
  /** Segmentation output position. */
  seg: '<SEG>',
} as const;

/** Special token strings in id order. */
export const SPECIAL_TOKEN_LIST: readonly string[] = [
  SPECIAL_TOKENS.pad,
  SPECIAL_TOKENS.bos,
  SPECIAL_TOKENS.eos,
  SPECIAL_TOKENS.unk,
  SPECIAL_TOKENS.phraseStart,
  SPECIAL_TOKENS.phraseEnd,
  SPECIAL_TOKENS.seg,
];
