import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { FAMILIES, dataset, generateSample } from '../src/index.js';
// Relative until the workspace aliases map `@flowseg/refseg-synth/node`.
import { MANIFEST_FORMAT, decodePng, encodeGrayPng, encodeRgbPng, exportSamples, exportSplit, readExportedSplit, type ExportManifest } from '../src/node/index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'refseg-synth-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await listAll(join(dir, e.name))).map((p) => `${e.name}/${p}`));
    else out.push(e.name);
  }
  return out;
}

describe('PNG + JSON export', () => {
  it('round-trips images, instance maps and target masks through pngjs', async () => {
    const dir = await tempDir();
    const samples = FAMILIES.flatMap((f) => dataset('val', f, 4));
    const manifest = await exportSamples(dir, samples);
    expect(manifest.samples.length).toBe(samples.length);

    for (const [k, s] of samples.entries()) {
      const entry = manifest.samples[k]!;
      // Read back with pngjs directly: RGBA data, opaque.
      const img = PNG.sync.read(await readFile(join(dir, entry.image)));
      expect([img.width, img.height]).toEqual([64, 64]);
      let diff = 0;
      for (let i = 0; i < 64 * 64; i++) {
        for (let c = 0; c < 3; c++) if (img.data[i * 4 + c] !== s.scene.image[i * 3 + c]) diff++;
        if (img.data[i * 4 + 3] !== 255) diff++;
      }
      expect(diff).toBe(0);
      const inst = PNG.sync.read(await readFile(join(dir, entry.instances)));
      let instDiff = 0;
      for (let i = 0; i < 64 * 64; i++) if (inst.data[i * 4] !== s.scene.instanceMap[i]) instDiff++;
      expect(instDiff).toBe(0);
      expect(entry.targets.length).toBe(s.targets.length);
      for (const [t, target] of entry.targets.entries()) {
        expect(target.objectId).toBe(s.targets[t]!.objectId);
        const m = PNG.sync.read(await readFile(join(dir, target.mask)));
        let maskDiff = 0;
        for (let i = 0; i < 64 * 64; i++) if (m.data[i * 4] !== s.scene.masks[target.objectId]![i]! * 255) maskDiff++;
        expect(maskDiff).toBe(0);
      }
      expect([entry.id, entry.answer, entry.prompt, entry.description]).toEqual([s.id, s.answer, s.prompt, s.description]);
      expect(entry.objects).toEqual(s.scene.objects);
    }

    const json = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExportManifest;
    expect(json.format).toBe(MANIFEST_FORMAT);
    expect(json.samples.map((e) => e.id)).toEqual(samples.map((s) => s.id));

    const back = await readExportedSplit(dir);
    for (const [k, s] of samples.entries()) {
      const r = back.samples[k]!;
      expect(Buffer.compare(Buffer.from(r.image), Buffer.from(s.scene.image))).toBe(0);
      expect(Buffer.compare(Buffer.from(r.instanceMap), Buffer.from(s.scene.instanceMap))).toBe(0);
      r.targetMasks.forEach((m, t) => expect(Buffer.compare(Buffer.from(m), Buffer.from(s.scene.masks[s.targets[t]!.objectId]!))).toBe(0));
    }
  });

  it('writes atomically: no temporary files remain, and the manifest names every file present', async () => {
    const dir = await tempDir();
    const manifest = await exportSplit(dir, 'test', 'multi', 3, { width: 48, height: 40 });
    expect(manifest.options?.width).toBe(48);
    const files = (await listAll(dir)).sort();
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const named = ['manifest.json', ...manifest.samples.flatMap((e) => [e.image, e.instances, ...e.targets.map((t) => t.mask)])].sort();
    expect(files).toEqual(named);
    expect(manifest.samples[0]!.image).toBe('images/test-multi-0.png');
    // Re-exporting over an existing folder replaces the files.
    await exportSplit(dir, 'test', 'multi', 3, { width: 48, height: 40 });
    expect((await listAll(dir)).sort()).toEqual(named);
  });

  it('encodes and decodes single images', () => {
    const s = generateSample('val', 'attribute', 0);
    const rgb = decodePng(encodeRgbPng(s.scene.image, 64, 64));
    expect(Buffer.compare(Buffer.from(rgb.rgb), Buffer.from(s.scene.image))).toBe(0);
    const gray = decodePng(encodeGrayPng(s.scene.instanceMap, 64, 64));
    expect(Buffer.compare(Buffer.from(gray.gray), Buffer.from(s.scene.instanceMap))).toBe(0);
    expect(() => encodeRgbPng(s.scene.image, 32, 32)).toThrow(/expected 3072 bytes/);
  });
});
