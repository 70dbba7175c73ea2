/**
 * Connection-bound security contexts for multi-leg mechanisms (NTLM) on node:http sockets, as
 * mod_auth_gssapi's GssapiConnectionBound: the request's socket is the connection identity. A
 * context key (nextConnectionId) is attached to the socket at a handshake's first leg and only
 * later legs on that same socket continue it; a leg arriving on any other connection starts a
 * handshake of its own (the relay case: an NTLM AUTHENTICATE on a fresh context is refused).
 * The context is freed when the handshake ends, when the socket closes, or when no next leg
 * came within the handshake timeout.
 *
 * Bounds on half-done handshakes: per remote address (HandshakesPerAddress, shared with the
 * other front ends when the server passes its own), in time (the timeout here, and the context
 * table's TTL sweep behind it), and in number (the context table's cap: ERR_CONTEXT_TABLE_FULL).
 */
import type { Socket } from 'node:net';
import { nextConnectionId } from '../connectionId.js';
import type { HandshakeSlot, HandshakesPerAddress } from '../handshake/index.js';
import { opensHandshake } from '../framing/initialToken.js';
import type { Logger } from '../logger.js';
import type { AuthPool } from '../pool/AuthPool.js';

/** One socket's handshake: its context-table key and what it holds between legs. */
export interface BoundContext {
  /** The context-table key, also the handshake's id in logs. */
  readonly id: number;
  /** A leg of this handshake is on the pool now. */
  leg: boolean;
  /** Held while the context waits for the socket's next leg. */
  slot: HandshakeSlot | undefined;
  timer: NodeJS.Timeout | undefined;
  ended: boolean;
}

export interface ConnectionContextsOptions {
  pool: AuthPool;
  perAddress: HandshakesPerAddress;
  /** A half-done handshake is freed this long after its last leg. */
  timeoutMs: number;
  logger: Logger;
}

export class ConnectionContexts {
  readonly #o: ConnectionContextsOptions;
  /** Weak: the socket, not this table, decides how long it lives; 'close' ends its entry. */
  readonly #bySocket = new WeakMap<Socket, BoundContext>();
  /** Sockets whose 'close' we listen to (once each). */
  readonly #hooked = new WeakSet<Socket>();
  /** Contexts held between legs, for close() and the count. */
  readonly #held = new Set<BoundContext>();

  constructor(options: ConnectionContextsOptions) {
    this.#o = options;
  }

  /** Handshakes holding a context between legs now. */
  get pending(): number {
    return this.#held.size;
  }

  /**
   * The context for a leg carrying `token` on `socket`: the socket's half-done handshake, or a
   * new one (the first leg, or a token that opens a new handshake, which drops the old one).
   * Undefined while another leg of the socket's handshake is on the pool (pipelined requests).
   */
  begin(socket: Socket, token: Uint8Array): BoundContext | undefined {
    const current = this.#bySocket.get(socket);
    if (current !== undefined && !current.ended) {
      if (current.leg) return undefined;
      if (!opensHandshake(token)) {
        current.leg = true;
        clearTimeout(current.timer);
        current.timer = undefined;
        return current;
      }
      this.end(socket, current);
    }
    const fresh: BoundContext = { id: nextConnectionId(), leg: true, slot: undefined, timer: undefined, ended: false };
    this.#bySocket.set(socket, fresh);
    return fresh;
  }

  /**
   * The leg answered "continue": keep the context for the socket's next leg. Throws
   * ContextError ERR_HANDSHAKES_PER_ADDRESS when `remoteAddress` holds its share already (the
   * context is then freed). Returns false when the socket closed meanwhile (freed too).
   */
  hold(socket: Socket, bound: BoundContext, remoteAddress: string | undefined): boolean {
    bound.leg = false;
    if (socket.destroyed || bound.ended) {
      this.end(socket, bound);
      return false;
    }
    try {
      bound.slot ??= this.#o.perAddress.acquire(remoteAddress);
    } catch (err) {
      this.end(socket, bound);
      throw err;
    }
    if (!this.#hooked.has(socket)) {
      this.#hooked.add(socket);
      socket.once('close', () => {
        const b = this.#bySocket.get(socket);
        if (b !== undefined) this.end(socket, b);
      });
    }
    bound.timer = setTimeout(() => {
      this.#o.logger.debug('half-done handshake freed: no next leg in time', {
        connectionId: bound.id,
        frontend: 'adapter',
        timeoutMs: this.#o.timeoutMs,
      });
      this.end(socket, bound);
    }, this.#o.timeoutMs);
    bound.timer.unref();
    this.#held.add(bound);
    return true;
  }

  /** The handshake is over (completed, failed or abandoned): frees its context and what it held. Idempotent. */
  end(socket: Socket, bound: BoundContext): void {
    if (this.#bySocket.get(socket) === bound) this.#bySocket.delete(socket);
    this.#free(bound);
  }

  /** Frees every held context (the sockets' later 'close' finds them ended). */
  endAll(): void {
    for (const bound of [...this.#held]) this.#free(bound);
  }

  #free(bound: BoundContext): void {
    if (bound.ended) return;
    bound.ended = true;
    bound.leg = false;
    clearTimeout(bound.timer);
    bound.slot?.release();
    this.#held.delete(bound);
    this.#o.pool.release(bound.id);
  }
}
