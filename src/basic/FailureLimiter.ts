/**
 * Failed Basic logins counted per user and per client address, so a password cannot be guessed
 * at the KDC's speed: after `maxFailures` failures in a window, further attempts for that user
 * (or from that address) are refused without a KDC exchange until the window ends. Fixed
 * windows; both maps are bounded (the least recently touched entry goes first), so a flood of
 * made-up names costs memory only up to the bound.
 */

export interface FailureLimiterOptions {
  /** Failures per user per window before refusing. Default 5. */
  maxFailuresPerUser?: number;
  /** Failures per address per window before refusing. Default 20 (several users behind one NAT). */
  maxFailuresPerAddress?: number;
  /** Window length, ms. Default 60,000. */
  windowMs?: number;
  /** Most users, and most addresses, tracked at once. Default 10,000 each. */
  maxEntries?: number;
  /** Clock, ms; for tests. */
  now?: () => number;
}

interface Window {
  start: number;
  failures: number;
}

class WindowMap {
  readonly #entries = new Map<string, Window>();
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly maxEntries: number,
  ) {}

  /** The window of `key` at `now`, or undefined when it has no failures in a current window. */
  current(key: string, now: number): Window | undefined {
    const w = this.#entries.get(key);
    if (w === undefined) return undefined;
    if (now - w.start >= this.windowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return w;
  }

  /** Ms until `key` may try again, or 0. */
  blockedFor(key: string, now: number): number {
    const w = this.current(key, now);
    return w !== undefined && w.failures >= this.limit ? w.start + this.windowMs - now : 0;
  }

  fail(key: string, now: number): void {
    const w = this.current(key, now) ?? { start: now, failures: 0 };
    w.failures += 1;
    // Re-inserted: Map order is then least recently failed first, which eviction takes.
    this.#entries.delete(key);
    this.#entries.set(key, w);
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

export class FailureLimiter {
  readonly #users: WindowMap;
  readonly #addresses: WindowMap;
  readonly #now: () => number;

  constructor(options: FailureLimiterOptions = {}) {
    const windowMs = positive('windowMs', options.windowMs, 60_000);
    const maxEntries = positive('maxEntries', options.maxEntries, 10_000);
    this.#users = new WindowMap(positive('maxFailuresPerUser', options.maxFailuresPerUser, 5), windowMs, maxEntries);
    this.#addresses = new WindowMap(
      positive('maxFailuresPerAddress', options.maxFailuresPerAddress, 20),
      windowMs,
      maxEntries,
    );
    this.#now = options.now ?? Date.now;
  }

  /**
   * Ms until `user` from `address` may be tried again (the longer of the two waits), or 0 when
   * the attempt may go to the KDC. User names compare case-insensitively.
   */
  retryAfterMs(user: string, address: string | undefined): number {
    const now = this.#now();
    const byUser = this.#users.blockedFor(user.toLowerCase(), now);
    const byAddress = address === undefined ? 0 : this.#addresses.blockedFor(address, now);
    return Math.max(byUser, byAddress);
  }

  /** Counts a failed attempt against the user and the address. */
  failed(user: string, address: string | undefined): void {
    const now = this.#now();
    this.#users.fail(user.toLowerCase(), now);
    if (address !== undefined) this.#addresses.fail(address, now);
  }

  /** A right password clears the user's count (not the address's: others may share it). */
  succeeded(user: string): void {
    this.#users.forget(user.toLowerCase());
  }

  /** Users and addresses tracked now (bounded by maxEntries each). */
  get tracked(): { users: number; addresses: number } {
    return { users: this.#users.size, addresses: this.#addresses.size };
  }
}
