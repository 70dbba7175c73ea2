/**
 * The per-address bound on handshakes in progress: those holding a security context between
 * legs (after a leg answered "continue"), which with NTLM on a client gets by sending one
 * credential-less NEGOTIATE message. `--max-contexts` bounds them globally; this bounds what one
 * remote address may hold, so one host cannot take the whole context table. Single-leg Kerberos
 * never holds a context between legs and is not counted. One instance is shared by every front
 * end of a server (sspi, gss-sample, WebSocket), so the bound is per address, not per listener.
 */
import { ContextError } from '../errors.js';

/** The default bound: this fraction of --max-contexts (at least 1). */
export const DEFAULT_HANDSHAKES_PER_ADDRESS_FRACTION = 10;

/** The default per-address bound for a context table of `maxContexts`. */
export function defaultHandshakesPerAddress(maxContexts: number): number {
  return Math.max(1, Math.floor(maxContexts / DEFAULT_HANDSHAKES_PER_ADDRESS_FRACTION));
}

/** One connection's hold on a slot; release() is idempotent. */
export interface HandshakeSlot {
  release(): void;
}

export class HandshakesPerAddress {
  readonly limit: number;
  readonly #held = new Map<string, number>();
  #inProgress = 0;
  #refused = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`handshakes per address must be a whole number >= 1, not ${limit}`);
    this.limit = limit;
  }

  /**
   * Takes a slot for `address`, or throws ContextError ERR_HANDSHAKES_PER_ADDRESS (counted)
   * when that address already holds `limit`. An unknown address (a socket already gone) shares
   * one bucket.
   */
  acquire(address: string | undefined): HandshakeSlot {
    // An IPv4 client of a dual-stack listener is the same host as on an IPv4 listener.
    const key = address?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '') ?? '';
    const n = this.#held.get(key) ?? 0;
    if (n >= this.limit) {
      this.#refused += 1;
      throw new ContextError(
        'ERR_HANDSHAKES_PER_ADDRESS',
        `${address ?? 'this address'} already has ${this.limit} handshakes in progress (--max-handshakes-per-address)`,
      );
    }
    this.#held.set(key, n + 1);
    this.#inProgress += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#inProgress -= 1;
        const left = (this.#held.get(key) ?? 1) - 1;
        if (left === 0) this.#held.delete(key);
        else this.#held.set(key, left);
      },
    };
  }

  /** Handshakes holding a slot now, over every address. */
  get inProgress(): number {
    return this.#inProgress;
  }

  /** Addresses holding at least one slot now. */
  get addresses(): number {
    return this.#held.size;
  }

  /** Leg 1s refused since start because their address was at the limit. */
  get refused(): number {
    return this.#refused;
  }
}
