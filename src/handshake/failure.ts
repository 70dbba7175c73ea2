/**
 * How a handshake failed: the one HandshakeFailure every front end reports, and the one
 * classification of errors from which each front end picks only its own answer (an HTTP status,
 * a WebSocket close code, a TCP close).
 */
import { GssError, NegotiateError, PoolError, type NegotiateErrorCode } from '../errors.js';
import type { Frontend } from './identity.js';

/** Facts about a failed handshake, for the 'handshakeFailed' event and the `handshake failed` log line. */
export interface HandshakeFailure<F extends Frontend = Frontend> {
  /** The connection (HTTP: the request's handshake) in logs and in the context table. */
  connectionId: number;
  frontend: F;
  /** A NegotiateErrorCode; `ERR_PROTOCOL` for a failure that is not a NegotiateError. */
  code: string;
  message: string;
  /** Undefined when the peer's address was no longer known. */
  remoteAddress: string | undefined;
  latencyMs: number;
}

/**
 * - `busy`: the server cannot take the handshake now (the pool's queue is full, a task timed
 *   out, a worker died, the pool is closing, the context table is full, the client's address
 *   holds its share of it, or the shared replay cache cannot check it); the client may retry.
 * - `refused`: GSSAPI refused the client's token, or its context cannot go on.
 * - `protocol`: the peer broke the framing or the front end's rules (too large, empty, out of
 *   lock-step, too slow).
 * - `internal`: not a NegotiateError: a bug, or an application callback that threw.
 */
export type FailureClass = 'busy' | 'refused' | 'protocol' | 'internal';

export function classify(err: unknown): FailureClass {
  if (!(err instanceof NegotiateError)) return 'internal';
  if (
    err instanceof PoolError ||
    err.code === 'ERR_CONTEXT_TABLE_FULL' ||
    err.code === 'ERR_HANDSHAKES_PER_ADDRESS' ||
    err.code === 'ERR_REPLAY_CACHE_UNAVAILABLE'
  )
    return 'busy';
  if (err instanceof GssError || err.code.startsWith('ERR_GSS_')) return 'refused';
  // A context that cannot go on (unknown, busy, in the wrong state) ends the handshake as a refusal.
  if (err.code.startsWith('ERR_CONTEXT_')) return 'refused';
  return 'protocol';
}

/** The code and message a failure is reported with. */
export function describeFailure(err: unknown): { code: NegotiateErrorCode; message: string } {
  if (err instanceof NegotiateError) return { code: err.code, message: err.message };
  return { code: 'ERR_PROTOCOL', message: err instanceof Error ? err.message : String(err) };
}

/**
 * GSSAPI's major and minor status of a failure, for the `handshake failed` line (its `message`
 * already holds their gss_display_status text); nothing for other errors.
 */
export function gssStatusFields(err: unknown): { major?: number; minor?: number } {
  return err instanceof GssError ? { major: err.major, minor: err.minor } : {};
}
