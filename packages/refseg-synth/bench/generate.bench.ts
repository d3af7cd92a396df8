// Generation throughput of the synthetic referring-segmentation benchmark.
// Run: npx tsx packages/refseg-synth/bench/generate.bench.ts [samplesPerFamily]
// Prints a table, then (last line) one JSON object. Ratios compare each family with plain
// scene generation measured in the same run. Besides wall-clock rate it reports this process's
// CPU time per sample, which stays meaningful when other jobs share the cores.
import { FAMILIES, generateSample, generateScene, sampleSeed, type SynthOptions } from '../src/index.js';

const count = Number(process.argv[2] ?? 400);

function rate(fn: (i: number) => unknown, n: number): { perSecond: number; cpuMs: number } {
  for (let i = 0; i < Math.min(50, n); i++) fn(1_000_000 + i); // warm-up
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  return { perSecond: n / wall, cpuMs: (cpu.user + cpu.system) / 1000 / n };
}

const rows: Array<{ name: string; size: number; perSecond: number; cpuMs: number }> = [];
for (const size of [64, 128]) {
  const options: SynthOptions = { width: size, height: size };
  rows.push({ name: 'scene', size, ...rate((i) => generateScene(sampleSeed('train', 'scene', i), options), count) });
  for (const family of FAMILIES) rows.push({ name: family, size, ...rate((i) => generateSample('train', family, i, options), count) });
}

const base = (size: number) => rows.find((r) => r.name === 'scene' && r.size === size)!.cpuMs;
console.log(`samples per family: ${count}`);
console.log('| kind | image | samples/s (wall) | CPU ms/sample | CPU time vs plain scene |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.size}×${r.size} | ${r.perSecond.toFixed(0)} | ${r.cpuMs.toFixed(2)} | ${(r.cpuMs / base(r.size)).toFixed(2)} |`);
}
console.log(
  JSON.stringify({
    bench: 'refseg-synth-generate',
    count,
    results: rows.map((r) => ({ name: r.name, size: r.size, perSecond: Math.round(r.perSecond), cpuMs: +r.cpuMs.toFixed(3), cpuVsScene: +(r.cpuMs / base(r.size)).toFixed(3) })),
  }),
);
