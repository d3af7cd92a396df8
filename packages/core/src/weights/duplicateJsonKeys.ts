/**
 * Keys that occur more than once in the same object of a JSON text, with their path
 * (`"w"` at the top level, `"w" → "dtype"` inside it).
 *
 * Why: `JSON.parse` silently keeps the last of two equal keys, so a header that names one
 * tensor twice would load whichever came last. This scanner walks the raw text (assumed to
 * be valid JSON — parse it first) and compares keys after unescaping, so `"a"` and
 * `"\u0061"` count as the same key.
 */
export function duplicateJsonKeys(text: string): string[] {
  interface Frame {
    readonly keys: Set<string> | null; // null for arrays
    readonly path: string;
    expectKey: boolean;
    lastKey: string;
  }
  const stack: Frame[] = [];
  const duplicates: string[] = [];
  const childPath = (frame: Frame | undefined): string => {
    if (!frame) return '';
    return frame.keys ? `${frame.path}${frame.path ? ' → ' : ''}${JSON.stringify(frame.lastKey)}` : frame.path;
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    const top = stack[stack.length - 1];
    if (ch === '{' || ch === '[') {
      stack.push({ keys: ch === '{' ? new Set() : null, path: childPath(top), expectKey: ch === '{', lastKey: '' });
      i++;
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      i++;
    } else if (ch === ',') {
      if (top?.keys) top.expectKey = true;
      i++;
    } else if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) duplicates.push(`${top.path}${top.path ? ' → ' : ''}${JSON.stringify(key)}`);
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      i = j + 1;
    } else {
      i++; // whitespace, ':', numbers, literals
    }
  }
  return duplicates;
}
