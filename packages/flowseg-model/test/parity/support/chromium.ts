import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's Chromium (CI installs it with `apt-get install -y chromium`). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for headless WebGPU on the CPU (SwiftShader), measured in ENVIRONMENT.md. */
export const WEBGPU_FLAGS = [
  '--no-sandbox',
  '--headless',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

/** True when the Chromium binary is installed. */
export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** A running browser with a fresh profile; `close()` also removes the profile. */
export interface LaunchedBrowser {
  /** The browser's (only) context, on the fresh profile. */
  readonly context: BrowserContext;
  /** Close the browser and delete its profile folder. */
  close(): Promise<void>;
}

/**
 * Launch `/usr/bin/chromium` headless with a fresh profile folder (`--user-data-dir`).
 * @param flags - command-line flags (default: {@link WEBGPU_FLAGS}).
 */
export async function launchChromium(flags: readonly string[] = WEBGPU_FLAGS): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'flowseg-chromium-'));
  // Playwright passes the profile as --user-data-dir itself (it refuses the flag in `args`).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...flags],
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
