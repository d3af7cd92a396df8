#!/usr/bin/env node
/**
 * The `flowseg` command (`bin` of `@flowseg/flowseg-model`); see `flowseg --help`.
 * Runs from source too: `npx tsx packages/flowseg-model/src/cli/flowseg.ts …`.
 * @module
 */
import { runCli } from './runCli.js';

const write = (stream: NodeJS.WriteStream) => (text: string) => void stream.write(text);
const code = await runCli(process.argv.slice(2), { stdout: write(process.stdout), stderr: write(process.stderr) });
// Exit explicitly (wasm worker threads would keep the process alive), after the output is flushed.
await new Promise<void>((done) => process.stdout.write('', () => process.stderr.write('', () => done())));
process.exit(code);
