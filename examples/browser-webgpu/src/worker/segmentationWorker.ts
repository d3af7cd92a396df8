/**
 * The model worker: owns TensorFlow.js, the backend and the model, so the page never blocks
 * while the model runs. Requests are handled one at a time, in order.
 */
import { CHECKPOINT_FILES, checkpointMetadata, modelFromCheckpoint, type FlowSegModel } from '@flowseg/flowseg-model';
import type { InitRequest, ReadyMessage, SegmentRequest, WorkerMessage, WorkerRequest } from '../protocol.js';
import { segmentImage } from './segmentImage.js';
import { startBackend } from './startBackend.js';

/** The parts of the worker global scope used here (the DOM lib types `self` as a Window). */
interface WorkerScope {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerRequest>) => void): void;
}
const scope = self as unknown as WorkerScope;

let model: FlowSegModel | null = null;
let queue: Promise<void> = Promise.resolve();

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
}

/** `fetch` that fails with the URL and HTTP status in the message. */
async function fetchChecked(url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch ${url}: ${errorText(e)}`);
  }
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status} ${response.statusText}`);
  return response;
}

async function init(request: InitRequest): Promise<void> {
  const start = performance.now();
  const selection = await startBackend(request.backend, request.wasmUrl);
  model?.dispose();
  model = null;
  const base = request.checkpointUrl.endsWith('/') ? request.checkpointUrl : `${request.checkpointUrl}/`;
  const [config, weights] = await Promise.all([
    fetchChecked(new URL(CHECKPOINT_FILES.config, base).href).then((r) => r.text()),
    fetchChecked(new URL(CHECKPOINT_FILES.weights, base).href).then(async (r) => new Uint8Array(await r.arrayBuffer())),
  ]);
  model = modelFromCheckpoint({ config, weights }, base);
  const metadata = checkpointMetadata(config);
  const ready: ReadyMessage = {
    type: 'ready',
    backend: selection.backend,
    reason: selection.reason,
    device: selection.device ?? null,
    skipped: selection.skipped,
    imageSize: model.config.image,
    maskSize: model.maskSize,
    numQueries: model.config.decoder.numQueries,
    parameters: model.countParams(),
    metadata,
    loadMs: performance.now() - start,
  };
  scope.postMessage(ready);
}

async function segment(request: SegmentRequest): Promise<void> {
  if (!model) throw new Error('no model loaded yet');
  const { height, width } = model.config.image;
  if (request.width !== width || request.height !== height) {
    throw new Error(`the image is ${request.width}×${request.height}; this model reads ${width}×${height}`);
  }
  const result = await segmentImage(model, request);
  scope.postMessage({ type: 'result', id: request.id, ...result });
}

scope.addEventListener('message', (event) => {
  const request = event.data;
  queue = queue.then(async () => {
    try {
      if (request.type === 'init') await init(request);
      else await segment(request);
    } catch (e) {
      scope.postMessage({ type: 'error', id: request.type === 'segment' ? request.id : null, message: errorText(e) });
    }
  });
});
