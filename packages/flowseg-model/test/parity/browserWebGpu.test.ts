/**
 * End to end in a real browser: build examples/browser-webgpu with Vite, serve dist/ on
 * 127.0.0.1, drive /usr/bin/chromium headless (WebGPU on SwiftShader) with playwright-core,
 * segment a generated scene in the page, and check the page's mask logits against the wasm
 * result computed here in Node from the same checkpoint bytes. Skips (with a message) only
 * when /usr/bin/chromium is absent; CI installs it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { generateSample } from '@flowseg/refseg-synth';
import { modelFromCheckpoint, segment, segmentationPrompt, type FlowSegModel, type SegmentResult } from '@flowseg/flowseg-model';
import type { Page } from 'playwright-core';
import { CHROMIUM_PATH, WEBGPU_FLAGS, chromiumAvailable, launchChromium, type LaunchedBrowser } from './support/chromium.js';
import { serveDirectory, type StaticServer } from './support/staticServer.js';
import { EXAMPLE_DIST, buildExample } from './support/buildExample.js';
import { parityCheckpoint, readCheckpointFolder } from './support/parityCheckpoint.js';
import { LOGIT_ATOL, LOGIT_RTOL, MIN_PIXEL_AGREEMENT, compareLogits, maskAgreement } from './support/agreement.js';

const SCREENSHOTS = fileURLToPath(new URL('../../../../test-output/browser/', import.meta.url));
/** The scene the page generates for `?seed=3&family=attribute` and the expression it fills in. */
const SAMPLE = generateSample('test', 'attribute', 3, { width: 64, height: 64 });
/** Few generated tokens keep the SwiftShader run short; the template covers a missing `<SEG>`. */
const ANSWER_TOKENS = 4;

const unavailable = chromiumAvailable() ? null : `browser tests skipped: ${CHROMIUM_PATH} is not installed (apt-get install -y chromium libvulkan1)`;
if (unavailable) console.warn(unavailable);

/** What the page published on `window.flowseg` after a run, with typed arrays made plain. */
interface PageRun {
  readonly status: string;
  readonly error: string | null;
  readonly backend: string | null;
  readonly device: string | null;
  readonly backendNote: string | null;
  readonly result: {
    readonly answer: string;
    readonly answerOrigin: string;
    readonly generatedIds: number[];
    readonly targets: { selectedIndex: number; logits: number[]; mask: number[] }[];
  } | null;
}

async function readPage(page: Page): Promise<PageRun> {
  return page.evaluate(() => {
    const s = window.flowseg;
    const note = document.getElementById('backend-note');
    const r = s.result;
    return {
      status: s.status,
      error: s.error,
      backend: s.ready?.backend ?? null,
      device: s.ready?.device ?? null,
      backendNote: note && !note.hidden ? note.textContent : null,
      result: r && {
        answer: r.segmentation.answer,
        answerOrigin: r.answerOrigin,
        generatedIds: [...r.generatedIds],
        targets: r.segmentation.targets.map((t) => ({
          selectedIndex: t.selectedIndex,
          logits: Array.from(t.logits.data),
          mask: Array.from(t.mask.data),
        })),
      },
    };
  });
}

/**
 * Open the page and wait until it finished (or failed), sampling its state meanwhile:
 * `running` samples show whether the page's own timer kept ticking while the worker computed.
 */
async function runPage(page: Page, url: string, timeoutMs: number): Promise<{ run: PageRun; heartbeats: number[] }> {
  const heartbeats: number[] = [];
  await page.goto(url);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await page.evaluate(() => ({ status: window.flowseg?.status, heartbeat: window.flowseg?.heartbeat }));
    if (s.status === 'running') heartbeats.push(s.heartbeat ?? 0);
    if (s.status === 'done' || s.status === 'error') break;
    if (Date.now() > deadline) throw new Error(`the page did not finish within ${timeoutMs / 1000} s (status ${s.status})`);
    await page.waitForTimeout(500);
  }
  return { run: await readPage(page), heartbeats };
}

/** External requests the page tried (everything not on 127.0.0.1 is blocked and recorded). */
async function blockExternal(browser: LaunchedBrowser): Promise<string[]> {
  const external: string[] = [];
  await browser.context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || url.protocol === 'blob:' || url.hostname === '127.0.0.1') return route.continue();
    external.push(url.href);
    return route.abort();
  });
  return external;
}

describe.skipIf(unavailable !== null)('browser example end to end (Chromium headless)', () => {
  let server: StaticServer;
  let model: FlowSegModel;
  let reference: SegmentResult;
  let browser: LaunchedBrowser | null = null;

  /** Node wasm reference for the page's answer (same checkpoint bytes, same image, same text). */
  async function nodeReference(answer: string): Promise<SegmentResult> {
    return segment(model, { rgb: SAMPLE.scene.image, width: 64, height: 64 }, SAMPLE.text, { answer, candidates: 'mask' });
  }

  function expectSameSegmentation(run: PageRun, ref: SegmentResult, label: string): void {
    expect(run.result, `${label}: result`).not.toBeNull();
    const page = run.result!;
    expect(page.answer).toBe(ref.answer);
    expect(page.targets.length).toBe(ref.targets.length);
    page.targets.forEach((t, i) => {
      const r = ref.targets[i]!;
      const logits = compareLogits(t.logits, r.logits.data);
      expect(logits.outside, `${label}: mask logits outside ${LOGIT_ATOL} + ${LOGIT_RTOL}·|x| (max |Δ| ${logits.maxAbsDiff})`).toBe(0);
      const agreement = maskAgreement(
        t.mask.map((v) => v - 0.5),
        Array.from(r.mask.data, (v) => v - 0.5),
      );
      expect(agreement).toBeGreaterThanOrEqual(MIN_PIXEL_AGREEMENT);
      expect(t.selectedIndex).toBe(r.selectedIndex);
      console.log(`${label} vs Node wasm, target ${i}: max |Δ| mask logits ${logits.maxAbsDiff.toExponential(2)}, masks agree on ${(100 * agreement).toFixed(2)} % of pixels`);
    });
  }

  beforeAll(async () => {
    await buildExample();
    server = await serveDirectory(EXAMPLE_DIST);
    await selectBackend('wasm', { wasmThreads: 1 });
    // The very bytes the page loads — the parity suite's checkpoint (shipped, or seed-0 random weights).
    const served = await readCheckpointFolder(join(EXAMPLE_DIST, 'checkpoints', 'flowseg-small'));
    expect(Buffer.compare(served.weights, (await parityCheckpoint()).bytes.weights)).toBe(0);
    model = modelFromCheckpoint(served, 'dist checkpoint');
    reference = await nodeReference(`<p> ${SAMPLE.text} </p> <SEG>`);
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    model?.dispose();
  });

  it('segments on WebGPU (SwiftShader) in a worker, matching wasm in Node, without freezing the page or fetching off-site', async () => {
    browser = await launchChromium(WEBGPU_FLAGS);
    const external = await blockExternal(browser);
    const page = await browser.context.newPage();
    const query = `?backend=webgpu&family=attribute&seed=3&answer=generate&answerTokens=${ANSWER_TOKENS}&run=1`;
    const { run, heartbeats } = await runPage(page, `${server.url}${query}`, 420_000);
    await page.screenshot({ path: join(SCREENSHOTS, 'webgpu-segmentation.png'), fullPage: true });
    expect(run.error).toBeNull();
    expect(run.backend).toBe('webgpu');
    console.log(`browser WebGPU adapter: ${run.device}`);

    // The answer: the page generated it on WebGPU; the library's own greedy decoder on wasm must agree.
    const tok = model.tokenizer;
    const generated = tf.tidy(() => {
      const image = tf.tensor4d(Float32Array.from(SAMPLE.scene.image, (v) => v / 255), [1, 64, 64, 3]);
      const prompt = tok.encode(segmentationPrompt(SAMPLE.text), { addBos: true });
      return model.languageModel.generate(
        model.visionEncoder.forward(image).tokens,
        tf.tensor2d([prompt], [1, prompt.length], 'int32'),
        { maxNewTokens: ANSWER_TOKENS, eosId: tok.eosId },
      )[0]!;
    });
    expect(run.result!.generatedIds).toEqual(generated);
    expectSameSegmentation(run, run.result!.answer === reference.answer ? reference : await nodeReference(run.result!.answer), 'browser webgpu');

    // The page's own timer kept ticking while the worker computed (a model on the main thread freezes it).
    if (heartbeats.length >= 2) expect(heartbeats[heartbeats.length - 1]!).toBeGreaterThan(heartbeats[0]!);
    else console.warn('the run finished before the page could be sampled twice while running; responsiveness not observed');
    expect(external).toEqual([]);
    await page.close();
  }, 480_000);

  it('serves the wasm binaries itself: ?backend=wasm segments in the browser and matches Node', async () => {
    browser ??= await launchChromium(WEBGPU_FLAGS);
    const external = await blockExternal(browser);
    const page = await browser.context.newPage();
    const before = server.requests.length;
    const { run } = await runPage(page, `${server.url}?backend=wasm&family=attribute&seed=3&answer=template&run=1`, 120_000);
    expect(run.error).toBeNull();
    expect(run.backend).toBe('wasm');
    expect(server.requests.slice(before).some((p) => /^\/tfjs-wasm\/tfjs-backend-wasm.*\.wasm$/.test(p))).toBe(true);
    expectSameSegmentation(run, reference, 'browser wasm');
    expect(external).toEqual([]);
    await page.close();
  }, 180_000);

  it('falls back from WebGPU with a visible note when the browser has none', async () => {
    const plain = await launchChromium(WEBGPU_FLAGS.filter((f) => !/webgpu|Vulkan/i.test(f)));
    try {
      const page = await plain.context.newPage();
      await page.goto(`${server.url}?backend=auto`);
      await page.waitForFunction(() => window.flowseg?.status === 'ready' || window.flowseg?.status === 'error', undefined, {
        timeout: 120_000,
      });
      const run = await readPage(page);
      await page.screenshot({ path: join(SCREENSHOTS, 'fallback-note.png') });
      expect(run.error).toBeNull();
      expect(['webgl', 'wasm', 'cpu']).toContain(run.backend);
      expect(run.backendNote).toMatch(/WebGPU is not used: webgpu: .+ Running on (webgl|wasm|cpu)/);
      console.log(`fallback: ${run.backendNote}`);
    } finally {
      await plain.close();
    }
  }, 180_000);
});
