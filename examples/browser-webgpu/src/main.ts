/**
 * The page (main thread): inputs, drawing and the worker's messages. Everything TensorFlow.js
 * runs in the worker, so this thread stays free to animate and respond while the model runs.
 */
import type { Family } from '@flowseg/refseg-synth';
import { fetchCheckpointManifest } from './checkpointManifest.js';
import { createPageState } from './pageState.js';
import { readPageOptions, type PageOptions } from './pageOptions.js';
import type { AnswerMode, ReadyMessage, SegmentationResult, WorkerMessage, WorkerRequest } from './protocol.js';
import { drawImageWithMask, drawMaskThumbnail, resizeMaskNearest } from './ui/drawing.js';
import { generateScene, imageFromFile, type RgbImage } from './ui/imageInput.js';

const state = createPageState();
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const view = $<HTMLCanvasElement>('view');
let image: RgbImage | null = null;
let shownMask: Uint8Array | null = null;
let nextId = 1;
let runStart = 0;

function showError(message: string): void {
  state.error = message;
  state.status = 'error';
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
  $('status').dataset['state'] = 'error';
  setBusy(null);
  // A failed request leaves the model usable: the person can fix the input and try again.
  $<HTMLButtonElement>('segment').disabled = state.ready === null;
  console.error(message);
}

function clearError(): void {
  state.error = null;
  if (state.status === 'error') state.status = state.ready ? 'ready' : 'loading';
  $('error').hidden = true;
  $('status').dataset['state'] = state.status;
}

function setStatus(text: string): void {
  $('status-text').textContent = text;
  $('status').dataset['state'] = state.status;
}

function setBusy(text: string | null): void {
  $('busy').hidden = text === null;
  $('busy-text').textContent = text ?? '';
}

window.addEventListener('error', (e) => showError(`Unexpected error: ${e.message}`));
window.addEventListener('unhandledrejection', (e) => showError(`Unexpected error: ${String((e.reason as Error)?.message ?? e.reason)}`));

// The page's own clock: it ticks (and the spinner turns) while the worker computes.
setInterval(() => {
  state.heartbeat++;
  if (state.status === 'running') setBusy(`running… ${((performance.now() - runStart) / 1000).toFixed(1)} s`);
}, 100);

let options: PageOptions;
try {
  options = readPageOptions(location.search);
} catch (e) {
  showError((e as Error).message);
  options = readPageOptions('');
}
$<HTMLInputElement>('seed').value = String(options.seed);
$<HTMLSelectElement>('family').value = options.family;
$<HTMLSelectElement>('answer-mode').value = options.answerMode;

const worker = new Worker(new URL('./worker/segmentationWorker.ts', import.meta.url), { type: 'module' });
worker.addEventListener('error', (e) => showError(`The model worker failed: ${e.message || 'it could not be started'}`));
worker.addEventListener('messageerror', () => showError('A message from the model worker could not be read'));
worker.addEventListener('message', (event: MessageEvent<WorkerMessage>) => {
  const message = event.data;
  if (message.type === 'ready') onReady(message);
  else if (message.type === 'result') onResult(message);
  else showError(message.id === null ? `Could not start: ${message.message}` : `Segmentation failed: ${message.message}`);
});

function post(request: WorkerRequest): void {
  worker.postMessage(request);
}

async function start(): Promise<void> {
  const manifest = await fetchCheckpointManifest(location.href).catch(() => null);
  const entry = manifest?.checkpoints.find((c) => c.name === manifest.default) ?? null;
  const checkpoint = options.checkpoint ?? entry?.url ?? 'checkpoints/flowseg-small/';
  const checkpointUrl = new URL(checkpoint, location.href).href;
  setStatus(`Loading the checkpoint ${checkpointUrl} (backend: ${options.backend})…`);
  setBusy('loading…');
  post({ type: 'init', checkpointUrl, wasmUrl: new URL('tfjs-wasm/', location.href).href, backend: options.backend });
}

function onReady(ready: ReadyMessage): void {
  state.ready = ready;
  state.status = 'ready';
  setBusy(null);
  const device = ready.device ? ` (${ready.device})` : '';
  setStatus(
    `Backend: ${ready.backend}${device} · ${ready.parameters.toLocaleString('en')} parameters · loaded in ${(ready.loadMs / 1000).toFixed(1)} s`,
  );
  const note = $('backend-note');
  if (ready.backend !== 'webgpu') {
    const why = ready.skipped.map((s) => `${s.backend}: ${s.error}`).join('; ');
    note.textContent = `WebGPU is not used: ${why || ready.reason}. Running on ${ready.backend}, which is slower.`;
    note.hidden = false;
  } else if (/swiftshader/i.test(ready.device ?? '')) {
    note.textContent = 'WebGPU runs on SwiftShader, a CPU emulation of a GPU: results are correct but slow.';
    note.hidden = false;
  }
  const random = ready.metadata['weights'] === 'random';
  const cp = $('checkpoint-note');
  cp.textContent = random
    ? 'This checkpoint has random weights (no trained checkpoint was shipped when the page was built): the masks mean nothing, the pipeline is the real one.'
    : `Checkpoint: ${JSON.stringify(ready.metadata).slice(0, 200)}`;
  cp.hidden = false;
  if (!image) newScene();
  $<HTMLButtonElement>('segment').disabled = false;
  if (options.autoRun) segment();
}

function newScene(): void {
  if (!state.ready) return;
  const { width, height } = state.ready.imageSize;
  const seed = Number($<HTMLInputElement>('seed').value);
  const family = $<HTMLSelectElement>('family').value as Family;
  try {
    const scene = generateScene(Number.isInteger(seed) && seed >= 0 ? seed : 0, family, width, height);
    image = scene;
    const typed = options.expression;
    options = { ...options, expression: null }; // the URL's expression applies to the first scene only
    $<HTMLInputElement>('expression').value = typed ?? scene.expression;
    $('scene-hint').textContent = `Scene ${scene.id}; expected answer: ${scene.answer}`;
    shownMask = null;
    drawImageWithMask(view, image, null);
  } catch (e) {
    showError(`Could not generate the scene: ${(e as Error).message}`);
  }
}

async function upload(file: File): Promise<void> {
  if (!state.ready) return;
  const { width, height } = state.ready.imageSize;
  try {
    image = await imageFromFile(file, width, height);
    $('scene-hint').textContent = `${file.name}, resampled to ${width}×${height} (the model's input size)`;
    shownMask = null;
    drawImageWithMask(view, image, null);
    clearError();
  } catch (e) {
    showError(`Could not read ${file.name}: ${(e as Error).message}`);
  }
}

function segment(): void {
  if (!state.ready || !image || state.status === 'running') return;
  const expression = $<HTMLInputElement>('expression').value.trim();
  if (!expression) {
    showError('Type an expression first, e.g. "the small red circle".');
    return;
  }
  clearError();
  state.status = 'running';
  runStart = performance.now();
  setBusy('running…');
  $<HTMLButtonElement>('segment').disabled = true;
  post({
    type: 'segment',
    id: nextId++,
    image: image.rgb.slice(),
    width: image.width,
    height: image.height,
    expression,
    answerMode: $<HTMLSelectElement>('answer-mode').value as AnswerMode,
    maxAnswerTokens: options.maxAnswerTokens,
  });
}

function onResult(result: SegmentationResult): void {
  state.result = result;
  state.runs++;
  state.status = 'done';
  setBusy(null);
  $<HTMLButtonElement>('segment').disabled = false;
  const seg = result.segmentation;
  shownMask = unionOfTargets(result);
  redraw();
  const t = result.timings;
  const answerFrom = result.answerOrigin === 'model' ? 'generated by the language model' : 'template';
  const facts: Array<[string, string]> = [
    ['backend', result.backend],
    ['prompt', seg.prompt],
    ['answer', `${seg.answer} (${answerFrom})`],
    ...(result.answerNote ? ([['note', result.answerNote]] as Array<[string, string]>) : []),
    ...(seg.unknownWords.length > 0 ? ([['unknown words', seg.unknownWords.join(', ')]] as Array<[string, string]>) : []),
    [
      'selected',
      seg.targets.length === 0
        ? 'no <SEG> in the answer: nothing to segment'
        : seg.targets
            .map((g) => `candidate ${g.selectedIndex} (p = ${(100 * g.probability).toFixed(0)} %) for "${g.phrases.join(', ')}"`)
            .join('; '),
    ],
    ['generate', `${t.generateMs.toFixed(0)} ms`],
    ['segment', `${t.segmentMs.toFixed(0)} ms`],
    ['total', `${t.totalMs.toFixed(0)} ms`],
  ];
  const dl = $('facts');
  dl.replaceChildren(
    ...facts.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      dd.dataset['fact'] = k;
      return [dt, dd];
    }),
  );
  drawCandidates(result);
  setStatus(`Backend: ${result.backend} · last run ${(t.totalMs / 1000).toFixed(1)} s`);
}

/** Every target's selected mask, at the image's size. */
function unionOfTargets(result: SegmentationResult): Uint8Array | null {
  const seg = result.segmentation;
  if (seg.targets.length === 0) return null;
  const union = new Uint8Array(seg.imageWidth * seg.imageHeight);
  for (const target of seg.targets) target.mask.data.forEach((v, i) => (union[i] ||= v));
  return union;
}

function redraw(): void {
  if (image) drawImageWithMask(view, image, $<HTMLInputElement>('show-mask').checked ? shownMask : null);
}

function drawCandidates(result: SegmentationResult): void {
  const box = $('candidates');
  box.replaceChildren();
  const seg = result.segmentation;
  seg.targets.forEach((target, t) => {
    if (seg.targets.length > 1) {
      const title = document.createElement('div');
      title.className = 'target-title';
      title.textContent = `target ${t + 1}: ${target.phrases.join(', ') || '(no phrase)'}`;
      box.append(title);
    }
    for (const candidate of target.candidates) {
      const q = candidate.index;
      const cell = document.createElement('button');
      cell.type = 'button';
      cell.className = `candidate${q === target.selectedIndex ? ' selected' : ''}`;
      cell.title = `candidate ${q}: score ${candidate.score.toFixed(3)}, objectness ${candidate.objectProbability.toFixed(2)}`;
      const canvas = document.createElement('canvas');
      canvas.width = 64;
      canvas.height = 64;
      drawMaskThumbnail(canvas, candidate.mask.data, candidate.mask.width, candidate.mask.height);
      const label = document.createElement('div');
      label.textContent = `#${q} ${candidate.score.toFixed(2)} · ${(100 * candidate.probability).toFixed(0)}%`;
      cell.append(canvas, label);
      cell.addEventListener('click', () => {
        box.querySelectorAll('.candidate').forEach((c) => c.classList.remove('shown'));
        cell.classList.add('shown');
        shownMask =
          q === target.selectedIndex
            ? target.mask.data
            : resizeMaskNearest(candidate.mask.data, candidate.mask.width, candidate.mask.height, seg.imageWidth, seg.imageHeight);
        redraw();
      });
      box.append(cell);
    }
  });
}

$('generate').addEventListener('click', () => newScene());
$('segment').addEventListener('click', () => segment());
$('show-mask').addEventListener('change', () => redraw());
$<HTMLInputElement>('expression').addEventListener('keydown', (e) => {
  if (e.key === 'Enter') segment();
});
$<HTMLInputElement>('upload').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) void upload(file);
});

start().catch((e: unknown) => showError(`Could not start: ${(e as Error).message}`));
