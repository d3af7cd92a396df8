/**
 * Extracts the code blocks of the Markdown guides in `docs/guides/` so that a test can
 * type-check and run every TypeScript block exactly as a reader would copy it.
 *
 * A fenced block's info string is `<language> [flags…]`. Blocks in `ts`/`typescript` are
 * compiled and run; other languages (`sh`, `json`, `text`, `python`, …) are shown only.
 * Flags on a `ts` block:
 * - `typecheck-only`: compiled but not run (code for a browser, or for an optional package
 *   this machine cannot install);
 * - `needs-checkpoint`: run only when the trained checkpoint shipped with
 *   `@flowseg/flowseg-model` is present (`packages/flowseg-model/checkpoints/flowseg-small`);
 * - `fragment`: neither compiled nor run (a signature list or an excerpt that needs the code
 *   around it; READMEs use these, guides should not).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Languages whose blocks are compiled and run. */
export const TYPESCRIPT_LANGUAGES: readonly string[] = ['ts', 'typescript'];

/** Flags a `ts` block may carry after its language. */
export const BLOCK_FLAGS: readonly string[] = ['typecheck-only', 'needs-checkpoint', 'fragment'];

/** One fenced code block of a guide. */
export interface GuideBlock {
  /** The document's name as given to {@link extractBlocks}, e.g. `getting-started.md` or `packages/core/README.md`. */
  readonly guide: string;
  /** 0-based index among the guide's TypeScript blocks (-1 for other languages). */
  readonly index: number;
  /** 1-based line of the block's first code line in the guide. */
  readonly line: number;
  /** Language of the fence (lowercase; '' when none). */
  readonly language: string;
  /** Flags after the language. */
  readonly flags: readonly string[];
  /** The code, with the fence's indentation removed. */
  readonly code: string;
}

/**
 * Every fenced block of a Markdown text, in order. Fences are ``` or ~~~ (three or more),
 * possibly indented (inside a list); a block ends at a fence of the same character that is
 * at least as long. An unclosed fence is an error (it would swallow the rest of the guide).
 */
export function extractBlocks(markdown: string, guide: string): GuideBlock[] {
  const lines = markdown.split('\n');
  const blocks: GuideBlock[] = [];
  let tsIndex = 0;
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, language, rest] = open as unknown as [string, string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^(\s*)(`{3,}|~{3,})\s*$/.exec(lines[j]!);
      if (close && close[2]![0] === fence[0] && close[2]!.length >= fence.length) break;
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!.trimStart());
    }
    if (j === lines.length) throw new Error(`${guide}:${i + 1}: code fence ${fence} is never closed`);
    const lang = language.toLowerCase();
    const isTs = TYPESCRIPT_LANGUAGES.includes(lang);
    blocks.push({
      guide,
      index: isTs ? tsIndex++ : -1,
      line: i + 2,
      language: lang,
      flags: rest.split(/\s+/).filter((f) => f.length > 0),
      code: `${body.join('\n')}\n`,
    });
    i = j;
  }
  return blocks;
}

/** The guides (`*.md` in `dir`, sorted) with their blocks. */
export function readGuides(dir: string): Array<{ guide: string; markdown: string; blocks: GuideBlock[] }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((guide) => {
      const markdown = readFileSync(join(dir, guide), 'utf8');
      return { guide, markdown, blocks: extractBlocks(markdown, guide) };
    });
}

/** File name a TypeScript block is written to (unique per document and block; folders become dots). */
export function blockFileName(block: GuideBlock): string {
  return `${block.guide.replace(/\.md$/, '').replace(/[/\\]/g, '.')}.block${block.index + 1}.ts`;
}
