/**
 * The WebSocket front end's answer to a failure: a close code and a short reason (RFC 6455
 * §7.4.1, IANA registry for 1013), from the handshake core's classification of the error.
 */
import { NegotiateError } from '../errors.js';
import { classify } from '../handshake/index.js';

/** WebSocket close codes this front end sends. */
export const WS_CLOSE = {
  /** The server is shutting down (WsAcceptor.close). */
  GOING_AWAY: 1001,
  /** Text during the handshake, a token before the answer to the previous one, an empty token. */
  PROTOCOL_ERROR: 1002,
  /** A text message after authentication (application messages are binary). */
  UNSUPPORTED_DATA: 1003,
  /** Authentication failed, handshake timeout, unwrap failed, peer not reading. */
  POLICY_VIOLATION: 1008,
  /** A message longer than maxTokenBytes. */
  MESSAGE_TOO_BIG: 1009,
  /** An unexpected server error (including an exception from onMessage). */
  INTERNAL_ERROR: 1011,
  /** The worker pool or the context table is full; retry later. */
  TRY_AGAIN_LATER: 1013,
  /**
   * Authenticated, but authorization refused the client (a rule, or the authorize hook): the
   * private-use range (RFC 6455 §7.4.2), 4000 + HTTP 403. A failing hook closes with 1011.
   */
  FORBIDDEN: 4403,
} as const;

export type WsCloseCode = (typeof WS_CLOSE)[keyof typeof WS_CLOSE];

/** A close frame: its reason is at most 123 bytes; ours are short ASCII. */
export interface WsClose {
  code: WsCloseCode;
  reason: string;
}

const INTERNAL: WsClose = { code: WS_CLOSE.INTERNAL_ERROR, reason: 'internal error' };

/** The close for a failure `err`. */
export function closeFor(err: unknown): WsClose {
  switch (classify(err)) {
    case 'busy':
      return err instanceof NegotiateError && err.code === 'ERR_POOL_CLOSED'
        ? { code: WS_CLOSE.GOING_AWAY, reason: 'server shutting down' }
        : { code: WS_CLOSE.TRY_AGAIN_LATER, reason: 'server busy' };
    case 'refused':
      return { code: WS_CLOSE.POLICY_VIOLATION, reason: 'authentication failed' };
    case 'protocol':
      switch (err instanceof NegotiateError ? err.code : undefined) {
        case 'ERR_FRAME_TOO_LARGE':
          return { code: WS_CLOSE.MESSAGE_TOO_BIG, reason: 'message too big' };
        case 'ERR_HANDSHAKE_TIMEOUT':
          return { code: WS_CLOSE.POLICY_VIOLATION, reason: 'handshake timeout' };
        case 'ERR_FRAME_EMPTY':
          return { code: WS_CLOSE.PROTOCOL_ERROR, reason: 'empty token' };
        case 'ERR_WS_PROTOCOL':
          return { code: WS_CLOSE.PROTOCOL_ERROR, reason: 'protocol error' };
        default:
          return INTERNAL;
      }
    case 'internal':
      return INTERNAL;
  }
}
