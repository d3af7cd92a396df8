import { WeightsError } from '@flowseg/core';
import type { FlowSegModel } from '../model/FlowSegModel.js';
import { CHECKPOINT_FILES, modelFromCheckpoint } from './checkpointFormat.js';

/**
 * Load a checkpoint served over HTTP(S) (browser, or Node ≥ 18 with `fetch`): reads
 * `<baseUrl>/config.json` and `<baseUrl>/model.safetensors`.
 * @throws WeightsError naming the URL that failed.
 */
export async function loadCheckpointFromUrl(baseUrl: string, init?: RequestInit): Promise<FlowSegModel> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const get = async (name: string): Promise<Response> => {
    const url = new URL(name, base.includes('://') ? base : new URL(base, globalThis.location?.href ?? 'http://localhost/')).href;
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (e) {
      throw new WeightsError(`${url}: ${(e as Error).message}`, 'baseUrl');
    }
    if (!response.ok) throw new WeightsError(`${url}: HTTP ${response.status} ${response.statusText}`, 'baseUrl');
    return response;
  };
  const [config, weights] = await Promise.all([
    get(CHECKPOINT_FILES.config).then((r) => r.text()),
    get(CHECKPOINT_FILES.weights).then(async (r) => new Uint8Array(await r.arrayBuffer())),
  ]);
  return modelFromCheckpoint({ config, weights }, base);
}
