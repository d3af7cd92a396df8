/** One checkpoint the page can load. */
export interface CheckpointEntry {
  /** Folder name, e.g. `flowseg-small`. */
  readonly name: string;
  /** URL of the folder holding `config.json` and `model.safetensors`, relative to the page. */
  readonly url: string;
  /** True for the shipped trained checkpoint, false for the random-weight stand-in. */
  readonly trained: boolean;
}

/** `checkpoints/manifest.json`, written at build time by `scripts/prepareAssets.ts`. */
export interface CheckpointManifest {
  /** Name of the checkpoint the page loads when the URL names none. */
  readonly default: string;
  /** The checkpoints copied into the page's assets. */
  readonly checkpoints: readonly CheckpointEntry[];
}

/** Read the manifest next to the page; `null` when it is missing (e.g. a dev server without assets). */
export async function fetchCheckpointManifest(pageUrl: string): Promise<CheckpointManifest | null> {
  const response = await fetch(new URL('checkpoints/manifest.json', pageUrl));
  if (!response.ok) return null;
  return (await response.json()) as CheckpointManifest;
}
