#!/usr/bin/env node
// Sums vitest's JSON reports (test-output/vitest/*.json, one per package) into the one line
// CI reads: `tests: N passed, M failed`. A package whose report is missing or unreadable, or
// whose run failed outside any test (e.g. a file that does not load), counts as one failure.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(process.cwd(), 'test-output', 'vitest');
const expected = readdirSync(join(process.cwd(), 'packages')).filter((p) =>
  existsSync(join(process.cwd(), 'packages', p, 'vitest.config.ts')),
);
let passed = 0;
// Failures outside vitest (e.g. the build), passed by .ci/run.
const extraAt = process.argv.indexOf('--extra-failures');
let failed = extraAt >= 0 ? Number(process.argv[extraAt + 1]) || 0 : 0;
for (const pkg of expected) {
  const file = join(dir, `${pkg}.json`);
  if (!existsSync(file)) {
    console.error(`count-tests: no report for ${pkg} (${file})`);
    failed += 1;
    continue;
  }
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    const suiteErrors = (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).every((a) => a.status !== 'failed')).length;
    if (suiteErrors > 0) {
      console.error(`count-tests: ${pkg}: ${suiteErrors} test file(s) failed outside any test`);
      failed += suiteErrors;
    }
  } catch (e) {
    console.error(`count-tests: unreadable report for ${pkg}: ${e.message}`);
    failed += 1;
  }
}
console.log(`tests: ${passed} passed, ${failed} failed`);
