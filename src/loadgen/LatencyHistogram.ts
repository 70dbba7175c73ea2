/**
 * Latencies in a fixed log-linear histogram: microsecond buckets below 128 µs, then 64 buckets
 * per power of two (under 1% error), so a run of any length costs 16 KiB, not 8 bytes per
 * handshake. The maximum is kept exactly.
 */

const LINEAR = 128;
const PER_OCTAVE = 64;
/** 2^37 µs is about 38 hours: far above any bounded run's timeout. */
const BUCKETS = LINEAR + 31 * PER_OCTAVE;

function bucketOf(us: number): number {
  if (us < LINEAR) return us < 0 ? 0 : Math.floor(us);
  const shift = Math.floor(Math.log2(us)) - 6;
  const index = LINEAR + (shift - 1) * PER_OCTAVE + (Math.floor(us / 2 ** shift) - PER_OCTAVE);
  return Math.min(index, BUCKETS - 1);
}

/** The middle of a bucket, in µs. */
function valueOf(bucket: number): number {
  if (bucket < LINEAR) return bucket + 0.5;
  const shift = Math.floor((bucket - LINEAR) / PER_OCTAVE) + 1;
  const mantissa = ((bucket - LINEAR) % PER_OCTAVE) + PER_OCTAVE;
  return (mantissa + 0.5) * 2 ** shift;
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #maxUs = 0;

  /** Records one latency, in milliseconds. */
  record(ms: number): void {
    const us = ms * 1000;
    this.#counts[bucketOf(us)]!++;
    this.#count++;
    if (us > this.#maxUs) this.#maxUs = us;
  }

  get count(): number {
    return this.#count;
  }

  /** The p-th percentile (0 < p ≤ 100) in milliseconds; 0 when nothing was recorded. */
  percentileMs(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.#counts[b]!;
      if (seen >= rank) return Math.min(valueOf(b), this.#maxUs) / 1000;
    }
    return this.#maxUs / 1000;
  }

  get maxMs(): number {
    return this.#maxUs / 1000;
  }
}
