import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';
import { basename } from 'node:path';

const root = fileURLToPath(new URL('.', import.meta.url));
const packages = [
  'core',
  'llm-condition-adapter',
  'mask2former-decoder',
  'bsf-layer',
  'bar-head',
  'flowseg-model',
  'refseg-synth',
  'onnx',
];

/**
 * Vitest config for one package: workspace packages resolve to their TypeScript sources
 * (tests never need a build), and results are written as JSON for `.ci/run` to count.
 */
export function packageTestConfig(packageDir: string, options: { testTimeout?: number } = {}) {
  const name = basename(packageDir);
  return defineConfig({
    resolve: {
      alias: [
        { find: '@flowseg/flowseg-model/node', replacement: `${root}packages/flowseg-model/src/node/index.ts` },
        { find: '@flowseg/onnx/node', replacement: `${root}packages/onnx/src/node/index.ts` },
        { find: '@flowseg/refseg-synth/node', replacement: `${root}packages/refseg-synth/src/node/index.ts` },
        { find: '@flowseg/core/testing', replacement: `${root}packages/core/src/testing/index.ts` },
        { find: '@flowseg/core/node', replacement: `${root}packages/core/src/node/index.ts` },
        ...packages.map((p) => ({ find: new RegExp(`^@flowseg/${p}$`), replacement: `${root}packages/${p}/src/index.ts` })),
      ],
    },
    test: {
      root: packageDir,
      include: ['test/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
      fileParallelism: false,
      reporters: ['default', 'json'],
      outputFile: { json: `${root}test-output/vitest/${name}.json` },
    },
  });
}
