import type { WordTokenizer } from '../tokenizer/WordTokenizer.js';

/** A generated answer made well-formed, with what was changed. */
export interface RepairedAnswer {
  /** Answer ids (no `<bos>`/`<eos>`), with balanced, non-nested `<p>…</p>` and no `<SEG>` inside a phrase. */
  readonly ids: number[];
  /** One sentence per change, empty when the answer was already well-formed. */
  readonly repairs: string[];
}

/**
 * Make a generated answer parseable by the condition adapter, so that a half-trained
 * language model still yields a result instead of an error: `<bos>`, `<eos>` and `<pad>` inside
 * the answer are removed; a `</p>` with no open phrase is removed; an open phrase is closed
 * (a `</p>` inserted) before a nested `<p>`, before a `<SEG>`, and at the end. Every change is
 * reported. Token positions in `repairs` count from the start of the answer.
 */
export function repairAnswerIds(ids: readonly number[], tokenizer: WordTokenizer): RepairedAnswer {
  const out: number[] = [];
  const repairs: string[] = [];
  const { bosId, eosId, padId, phraseStartId, phraseEndId, segId } = tokenizer;
  let open = -1;
  ids.forEach((id, t) => {
    if (id === bosId || id === eosId || id === padId) {
      repairs.push(`removed ${tokenizer.tokenOf(id)} at answer position ${t}`);
      return;
    }
    if (id === phraseEndId) {
      if (open < 0) {
        repairs.push(`removed </p> without an open <p> at answer position ${t}`);
        return;
      }
      open = -1;
    } else if ((id === phraseStartId || id === segId) && open >= 0) {
      repairs.push(`closed the phrase opened at answer position ${open} before the ${tokenizer.tokenOf(id)} at position ${t}`);
      out.push(phraseEndId);
      open = -1;
    }
    if (id === phraseStartId) open = t;
    out.push(id);
  });
  if (open >= 0) {
    repairs.push(`closed the phrase opened at answer position ${open} at the end of the answer`);
    out.push(phraseEndId);
  }
  return { ids: out, repairs };
}

/**
 * Turn one row of greedy output into the answer FlowSeg segments with: cut at the first
 * `<eos>`, {@link repairAnswerIds}, then drop trailing generated tokens until `<bos>`, the
 * prompt, the answer and `<eos>` fit the `budget` of text positions. Used by `segment()` and by
 * the evaluation, so both score the same answer.
 *
 * @param row - generated ids (`<eos>` last when it was produced).
 * @param context.promptLength - prompt ids including `<bos>`.
 * @param context.budget - text positions the model reads after its image tokens.
 * @param context.maxNewTokens - the generation cap (named in the note when no `<eos>` came).
 */
export function finishGeneratedAnswer(
  row: readonly number[],
  tokenizer: WordTokenizer,
  context: { promptLength: number; budget: number; maxNewTokens: number },
): RepairedAnswer {
  const end = row.indexOf(tokenizer.eosId);
  let raw = end >= 0 ? row.slice(0, end) : [...row];
  const notes = end >= 0 ? [] : [`no <eos> within maxNewTokens=${context.maxNewTokens} tokens: the answer ends there`];
  let fixed = repairAnswerIds(raw, tokenizer);
  const fits = () => context.promptLength + fixed.ids.length + 1 <= context.budget;
  if (!fits()) {
    while (!fits()) {
      raw = raw.slice(0, -1);
      fixed = repairAnswerIds(raw, tokenizer);
    }
    notes.push(`the repaired answer was cut to ${raw.length} generated tokens to fit maxPositions`);
  }
  return { ids: fixed.ids, repairs: [...notes, ...fixed.repairs] };
}
