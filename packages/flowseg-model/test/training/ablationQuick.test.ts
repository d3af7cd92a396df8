import { describe, it, expect } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScript } from '../support/runScript.js';

describe('npm run ablation -- --quick', () => {
  it('trains all four rows, evaluates them and writes the results table and JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowseg-ablation-'));
    try {
      const out = join(dir, 'results.md');
      const log = await runScript('ablation.ts', ['--quick', '--threads', '1', '--out', out, '--run-dir', join(dir, 'run')]);
      expect(log).toMatch(/wrote .*results\.md/);
      const md = await readFile(out, 'utf8');
      for (const row of ['| Baseline |', '| + SR |', '| + SR + CR (full BSF) |', '| + SR + CR + BAR (full) |']) expect(md).toContain(row);
      expect(md).toContain('Quick mode');
      const report = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as {
        rows: { name: string; params: number; families: Record<string, { cIoU: number; oracleCIoU: number }> }[];
      };
      expect(report.rows.map((r) => r.name)).toEqual(['baseline', 'sr', 'sr+cr', 'full']);
      // Each row adds exactly its module: parameters grow strictly along the ablation.
      for (let i = 1; i < 4; i++) expect(report.rows[i]!.params).toBeGreaterThan(report.rows[i - 1]!.params);
      for (const r of report.rows) {
        expect(Object.keys(r.families).sort()).toEqual(['attribute', 'empty', 'multi', 'reasoning', 'relational']);
        for (const f of Object.values(r.families)) {
          expect(f.cIoU).toBeGreaterThanOrEqual(0);
          expect(f.cIoU).toBeLessThanOrEqual(1);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
