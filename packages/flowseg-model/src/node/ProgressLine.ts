/**
 * A training progress line on stderr: step, loss and its parts, throughput and ETA. On a
 * terminal it redraws one line; otherwise it prints a line every `every` steps (CI logs).
 */
export class ProgressLine {
  private startStep = 0;
  private total = 0;
  private t0 = 0;
  private readonly tty: boolean;

  private readonly every: number;
  private readonly write: (text: string) => void;

  /**
   * @param label - prefix of every line (e.g. the stage).
   * @param options - `every`: steps between lines when not redrawing (default 25); `write`:
   *   where lines go (default stderr, redrawn in place when it is a terminal).
   */
  constructor(
    private readonly label: string,
    options: { every?: number; write?: (text: string) => void } = {},
  ) {
    this.every = options.every ?? 25;
    this.write = options.write ?? ((t) => process.stderr.write(t));
    this.tty = options.write === undefined && process.stderr.isTTY === true;
  }

  /** Begin at `step` of `total`. */
  start(step: number, total: number): void {
    this.startStep = step;
    this.total = total;
    this.t0 = performance.now();
  }

  /** Report a finished step. */
  update(step: number, loss: number, parts: Record<string, number>, batchSize: number): void {
    if (!this.tty && step % this.every !== 0 && step !== this.total) return;
    const done = step - this.startStep;
    const elapsed = (performance.now() - this.t0) / 1000;
    const perStep = done > 0 ? elapsed / done : 0;
    const eta = Math.max(0, (this.total - step) * perStep);
    const partText = Object.entries(parts)
      .map(([k, v]) => `${k} ${v.toFixed(3)}`)
      .join(' ');
    const line =
      `[${this.label}] step ${step}/${this.total} loss ${loss.toFixed(3)} (${partText}) ` +
      `${(done > 0 ? (batchSize * done) / elapsed : 0).toFixed(1)} samples/s ETA ${formatSeconds(eta)}`;
    this.write(this.tty ? `\r${line.padEnd(110)}` : `${line}\n`);
  }

  /** End the line. */
  finish(step: number): void {
    const elapsed = (performance.now() - this.t0) / 1000;
    this.write(`${this.tty ? '\n' : ''}[${this.label}] done at step ${step} in ${formatSeconds(elapsed)}\n`);
  }
}

/** `m:ss` (or `h:mm:ss`). */
export function formatSeconds(s: number): string {
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
