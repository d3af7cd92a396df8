/**
 * Every TypeScript block of the guides in `docs/guides/` (and of the packages' and examples'
 * READMEs) compiles and runs as printed.
 *
 * The blocks are written to `test/docs/generated/` (gitignored), type-checked together in one
 * TypeScript program with the repository's `tsconfig.json` (its `paths` map `@flowseg/*` to the
 * packages' sources, as a reader's installed packages would), and each block not flagged
 * `typecheck-only` is run in its own Node process with tsx. Blocks flagged `needs-checkpoint`
 * run only when the trained checkpoint is present; `fragment` blocks (README excerpts) are
 * neither compiled nor run. README blocks are type-checked always and run only with
 * `FLOWSEG_DOCS_RUN_READMES=1` (each run is a few seconds of process start-up; the guides
 * alone keep this file near two minutes).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { blockFileName, BLOCK_FLAGS, extractBlocks, readGuides, type GuideBlock } from './guideBlocks.js';

const packageDir = fileURLToPath(new URL('../../', import.meta.url));
const repoRoot = join(packageDir, '../..');
const guidesDir = join(repoRoot, 'docs/guides');
const generatedDir = join(packageDir, 'test/docs/generated');
const tsconfigPath = join(repoRoot, 'tsconfig.json');
const runReadmes = process.env['FLOWSEG_DOCS_RUN_READMES'] === '1';
const checkpointPresent = existsSync(join(packageDir, 'checkpoints/flowseg-small/model.safetensors'));

const guides = readGuides(guidesDir);
/** The READMEs of the packages and examples, by path from the repository root. */
const readmes = ['packages', 'examples'].flatMap((group) =>
  readdirSync(join(repoRoot, group))
    .sort()
    .map((name) => `${group}/${name}/README.md`)
    .filter((path) => existsSync(join(repoRoot, path))),
);
// Blocks are named by their document's path from the repository root.
const tsBlocks = [
  ...guides.flatMap((g) => g.blocks.map((b) => ({ ...b, guide: `docs/guides/${g.guide}` }))),
  ...readmes.flatMap((path) => extractBlocks(readFileSync(join(repoRoot, path), 'utf8'), path)),
].filter((b) => b.index >= 0);
const compiled = tsBlocks.filter((b) => !b.flags.includes('fragment'));
const fileOf = (block: GuideBlock) => join(generatedDir, blockFileName(block));
const where = (block: GuideBlock) => `${block.guide}:${block.line}`;

/** Type-check files in one program with the repository's compiler options; one message per error, at its guide line. */
function typeCheck(files: Map<string, GuideBlock>): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfigPath, { noEmit: true }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`cannot read ${tsconfigPath}`);
  const program = ts.createProgram({ rootNames: [...files.keys()], options: parsed.options });
  const messages: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const block = d.file ? files.get(d.file.fileName) : undefined;
    if (d.file && d.start !== undefined) {
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      const at = block ? `${block.guide}:${block.line + line}:${character + 1}` : `${relative(repoRoot, d.file.fileName)}:${line + 1}`;
      messages.push(`${at}: TS${d.code}: ${text}`);
    } else {
      messages.push(`TS${d.code}: ${text}`);
    }
  }
  return messages;
}

/** Run one file with tsx in a child process (`@flowseg/*` resolved through the tsconfig paths). */
function runBlock(file: string, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file],
      {
        cwd: generatedDir,
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, TSX_TSCONFIG_PATH: tsconfigPath },
      },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('docs/guides and README code blocks', () => {
  beforeAll(() => {
    rmSync(generatedDir, { recursive: true, force: true });
    mkdirSync(generatedDir, { recursive: true });
    for (const block of compiled) {
      writeFileSync(fileOf(block), `// Generated from ${where(block)} by guides.test.ts; edit the Markdown, not this file.\n${block.code}`);
    }
  });

  it('every guide is listed in typedoc.json and docs/README.md, and every ts block uses known flags', async () => {
    const { readFile } = await import('node:fs/promises');
    const typedoc = JSON.parse(await readFile(join(repoRoot, 'typedoc.json'), 'utf8')) as { projectDocuments: string[] };
    const index = await readFile(join(repoRoot, 'docs/README.md'), 'utf8');
    expect(guides.length).toBeGreaterThan(0);
    for (const { guide } of guides) {
      expect(typedoc.projectDocuments).toContain(`docs/guides/${guide}`);
      expect(index).toContain(`(guides/${guide})`);
    }
    for (const block of tsBlocks) {
      if (block.guide.startsWith('docs/guides/')) expect(block.flags, `${where(block)}: guides print complete programs`).not.toContain('fragment');
      for (const flag of block.flags) expect(BLOCK_FLAGS, `${where(block)}: unknown flag ${flag}`).toContain(flag);
    }
  });

  it('all TypeScript blocks type-check together (one program, repository tsconfig)', () => {
    // The generated code has one header line before the block's first line.
    const files = new Map(compiled.map((b) => [fileOf(b), { ...b, line: b.line - 1 }] as const));
    expect(typeCheck(files)).toEqual([]);
  }, 180_000);

  const runnable = compiled.filter((b) => !b.flags.includes('typecheck-only') && (runReadmes || b.guide.startsWith('docs/guides/')));
  if (!runReadmes) console.log('README blocks are type-checked only; FLOWSEG_DOCS_RUN_READMES=1 runs them too');
  for (const block of runnable) {
    const missing = block.flags.includes('needs-checkpoint') && !checkpointPresent;
    if (missing) console.log(`skipping ${where(block)}: needs-checkpoint, and packages/flowseg-model/checkpoints/flowseg-small/model.safetensors is missing`);
    it.skipIf(missing)(`${where(block)} runs and exits 0`, async () => {
      const run = await runBlock(fileOf(block), 170_000);
      expect(run.code, `${where(block)} exited ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`).toBe(0);
    }, 180_000);
  }
});

describe('guide block runner', () => {
  it('fails a block that throws and reports type errors at the guide line', async () => {
    const broken: GuideBlock = { guide: 'docs/guides/broken.md', index: 0, line: 10, language: 'ts', flags: [], code: '' };
    mkdirSync(generatedDir, { recursive: true });
    const file = join(generatedDir, 'broken.fixture.ts');
    writeFileSync(file, "import { selectBackend } from '@flowseg/core';\nconst n: number = 'x';\nawait selectBackend('cpu');\nthrow new Error('boom');\n");
    try {
      expect(typeCheck(new Map([[file, broken]]))).toEqual([
        expect.stringMatching(/^docs\/guides\/broken\.md:11:7: TS2322: Type 'string' is not assignable to type 'number'/),
      ]);
      const run = await runBlock(file, 60_000);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('boom');
    } finally {
      rmSync(file, { force: true });
    }
  }, 120_000);
});
