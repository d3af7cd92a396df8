import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SynthValueError } from '../errors.js';
import { decodePng } from './png.js';
import { MANIFEST_FORMAT, type ExportManifest, type ManifestEntry } from './manifest.js';

/** An exported sample read back: its manifest entry and decoded pixels. */
export interface ExportedSample {
  /** The manifest entry. */
  readonly entry: ManifestEntry;
  /** RGB image `[height, width, 3]`. */
  readonly image: Uint8Array;
  /** Instance map `[height, width]` (0 background, id + 1). */
  readonly instanceMap: Uint8Array;
  /** Target masks `[height, width]` in answer order, 0/1. */
  readonly targetMasks: readonly Uint8Array[];
}

/** Reads and checks `manifest.json` of an export folder. */
export async function readManifest(dir: string): Promise<ExportManifest> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExportManifest;
  if (manifest.format !== MANIFEST_FORMAT || manifest.version !== 1) {
    throw new SynthValueError(`${dir}/manifest.json is not a ${MANIFEST_FORMAT} v1 manifest`, 'dir');
  }
  return manifest;
}

/** Reads one exported sample's PNGs. */
export async function readExportedSample(dir: string, entry: ManifestEntry): Promise<ExportedSample> {
  const [image, instances, ...masks] = await Promise.all([entry.image, entry.instances, ...entry.targets.map((t) => t.mask)].map((p) => readFile(join(dir, p))));
  return {
    entry,
    image: decodePng(image!).rgb,
    instanceMap: decodePng(instances!).gray,
    targetMasks: masks.map((m) => decodePng(m).gray.map((v) => (v > 127 ? 1 : 0))),
  };
}

/** A whole export folder read back. */
export interface ExportedSplit {
  /** The manifest. */
  readonly manifest: ExportManifest;
  /** Every sample with its pixels, in manifest order. */
  readonly samples: readonly ExportedSample[];
}

/** Reads a whole export folder (manifest and every sample's pixels). */
export async function readExportedSplit(dir: string): Promise<ExportedSplit> {
  const manifest = await readManifest(dir);
  const samples: ExportedSample[] = [];
  for (const entry of manifest.samples) samples.push(await readExportedSample(dir, entry));
  return { manifest, samples };
}
