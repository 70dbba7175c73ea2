/**
 * Notices descriptor exhaustion, which no listener reports: uWS fails to accept silently and
 * libuv's TCP servers accept and drop connections when the process runs out. The caps are sized
 * so this does not happen (src/limits/descriptors.ts); if it does anyway (descriptors taken by
 * application code, a limit lowered from outside), it is logged once per episode and counted.
 */
import { openDescriptorCount, readDescriptorLimit } from './descriptors.js';

/** How often the open descriptors are counted. */
const CHECK_MS = 1000;
/** "Exhausted": fewer than this many descriptors left under the soft limit. */
export const EXHAUSTION_MARGIN = 16;

export interface DescriptorWatchOptions {
  /** Called once when descriptors run out, with the counts; again only after they recovered. */
  onExhausted: (open: number, limit: number) => void;
  /** Called when an exhausted process has a margin again. */
  onRecovered?: (open: number, limit: number) => void;
}

export class DescriptorWatch {
  readonly #timer: NodeJS.Timeout;
  readonly #options: DescriptorWatchOptions;
  #exhausted = false;
  /** The last soft limit read: at exhaustion reading it fails too (it needs a descriptor). */
  #limit: number | undefined;

  constructor(options: DescriptorWatchOptions) {
    this.#options = options;
    this.#limit = readDescriptorLimit()?.soft;
    this.#timer = setInterval(() => this.check(), CHECK_MS);
    this.#timer.unref();
  }

  /** Counts now; returns true while exhausted. */
  check(): boolean {
    this.#limit = readDescriptorLimit()?.soft ?? this.#limit;
    const limit = this.#limit;
    if (limit === undefined || limit === Infinity) return false;
    // readdir itself needs a descriptor: at the limit the count fails, which is exhaustion too.
    const open = openDescriptorCount();
    const used = open ?? limit;
    if (!this.#exhausted && used >= limit - EXHAUSTION_MARGIN) {
      this.#exhausted = true;
      this.#options.onExhausted(used, limit);
    } else if (this.#exhausted && used < limit - 4 * EXHAUSTION_MARGIN) {
      this.#exhausted = false;
      this.#options.onRecovered?.(used, limit);
    }
    return this.#exhausted;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
