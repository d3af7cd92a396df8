import type { ReadyMessage, SegmentationResult } from './protocol.js';

/** What the page is doing. */
export type PageStatus = 'loading' | 'ready' | 'running' | 'done' | 'error';

/**
 * The page's state, also published as `window.flowseg` so that scripts (the end-to-end test,
 * a console user) can read what the page shows without scraping it.
 */
export interface PageState {
  /** Current status. */
  status: PageStatus;
  /** The worker's ready message (backend, model facts), once loaded. */
  ready: ReadyMessage | null;
  /** The last segmentation. */
  result: SegmentationResult | null;
  /** The last error shown in the page. */
  error: string | null;
  /** Completed segmentations. */
  runs: number;
  /** Incremented by the page's own timer: it keeps counting while the worker computes. */
  heartbeat: number;
}

declare global {
  interface Window {
    /** See {@link PageState}. */
    flowseg: PageState;
  }
}

/** Create the state and publish it on `window.flowseg`. */
export function createPageState(): PageState {
  const state: PageState = { status: 'loading', ready: null, result: null, error: null, runs: 0, heartbeat: 0 };
  window.flowseg = state;
  return state;
}
