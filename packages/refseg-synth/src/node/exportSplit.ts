import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { dataset, type Split } from '../dataset.js';
import type { Family } from '../generator/families.js';
import type { ReferringSample } from '../generator/generateReferringSample.js';
import { resolveOptions, type SynthOptions } from '../options.js';
import { encodeGrayPng, encodeRgbPng } from './png.js';
import { writeFileAtomic } from './writeFileAtomic.js';
import { MANIFEST_FORMAT, type ExportManifest, type ManifestEntry } from './manifest.js';

/** Options of {@link exportSamples}. */
export interface ExportOptions {
  /** Recorded in the manifest as the generation options (resolved). */
  readonly synthOptions?: SynthOptions;
}

/**
 * Writes samples to `dir`: `images/<name>.png` (RGB), `instances/<name>.png` (instance map),
 * `masks/<name>_<k>.png` (visible mask of target k, 0/255) and `manifest.json` (everything
 * else). Every file is written atomically (temporary file + rename) and the manifest last, so
 * a folder with a manifest is complete. Existing files of the same names are replaced.
 * `<name>` is the sample id with every character outside `[A-Za-z0-9_-]` replaced by `-`.
 */
export async function exportSamples(
  dir: string,
  samples: Iterable<ReferringSample & { readonly id?: string }>,
  options: ExportOptions = {},
): Promise<ExportManifest> {
  await Promise.all(['images', 'instances', 'masks'].map((d) => mkdir(join(dir, d), { recursive: true })));
  const entries: ManifestEntry[] = [];
  for (const s of samples) {
    const id = s.id ?? `${s.family}/seed-${s.seed}`;
    const name = id.replace(/[^A-Za-z0-9_-]/g, '-');
    const { scene } = s;
    const image = `images/${name}.png`;
    const instances = `instances/${name}.png`;
    const targets = s.targets.map((t, k) => ({ ...t, mask: `masks/${name}_${k}.png` }));
    await Promise.all([
      writeFileAtomic(join(dir, image), encodeRgbPng(scene.image, scene.width, scene.height)),
      writeFileAtomic(join(dir, instances), encodeGrayPng(scene.instanceMap, scene.width, scene.height)),
      ...targets.map((t) => writeFileAtomic(join(dir, t.mask), encodeGrayPng(scene.masks[t.objectId]!.map((v) => v * 255), scene.width, scene.height))),
    ]);
    entries.push({
      id,
      seed: s.seed,
      family: s.family,
      template: s.template,
      width: scene.width,
      height: scene.height,
      image,
      instances,
      objects: scene.objects,
      background: scene.background,
      expression: s.expression,
      text: s.text,
      prompt: s.prompt,
      answer: s.answer,
      spans: s.spans,
      targets,
      description: s.description,
    });
  }
  const manifest: ExportManifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    options: options.synthOptions === undefined ? null : resolveOptions(options.synthOptions),
    samples: entries,
  };
  await writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  return manifest;
}

/** Generates the first `count` samples of a split and family and exports them (see {@link exportSamples}). */
export async function exportSplit(dir: string, split: Split, family: Family, count: number, options: SynthOptions = {}): Promise<ExportManifest> {
  return exportSamples(dir, dataset(split, family, count, options), { synthOptions: options });
}
