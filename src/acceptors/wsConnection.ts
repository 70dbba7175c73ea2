/**
 * The WebSocket front end's per-socket state (uWS's UserData, created at upgrade) and the few
 * operations on it that need no acceptor: a fresh state, the handshake attempt it describes,
 * and ending its socket promptly.
 */
import type { WebSocket } from 'uwebsockets';
import type { HandshakeAttempt, HandshakeSlot } from '../handshake/index.js';
import type { Session } from '../session.js';
import type { WsMessageChannel } from './WsMessageChannel.js';

/** Where a socket is: handshaking, with a leg on the pool, or authenticated. */
export type Phase = 'handshake' | 'leg' | 'established';

/** Per-socket state: uWS's UserData, created at upgrade. */
export interface Conn {
  /** nextConnectionId() at open; the context table key. */
  id: number;
  ws: WebSocket<Conn> | undefined;
  remoteAddress: string | undefined;
  started: number;
  /** 'leg': a token is on the pool and its answer not yet sent. */
  phase: Phase;
  /** Set by the close handler; the ws must not be touched afterwards. */
  closed: boolean;
  /** A failure was already reported (so the close is not reported again). */
  failed: boolean;
  deadline: NodeJS.Timeout | undefined;
  /** Held from the first leg that answered "continue" until the handshake ends. */
  slot: HandshakeSlot | undefined;
  session: Session | undefined;
  /** Application messages, once authenticated. */
  channel: WsMessageChannel | undefined;
}

/** The state of a socket being upgraded: no id or ws until `open`. */
export function newConn(remoteAddress: string | undefined): Conn {
  return {
    id: 0,
    ws: undefined,
    remoteAddress,
    started: Date.now(),
    phase: 'handshake',
    closed: false,
    failed: false,
    deadline: undefined,
    slot: undefined,
    session: undefined,
    channel: undefined,
  };
}

/** The handshake attempt `conn` describes, as the reporter sees it. */
export function attemptOf(conn: Conn): HandshakeAttempt {
  return { connectionId: conn.id, remoteAddress: conn.remoteAddress, latencyMs: Date.now() - conn.started };
}

/**
 * The closing handshake, then the TCP FIN at once. Inside our own cork, uWS sends the close
 * frame but postpones the FIN to an uncork that never sends it, and after its close frame it
 * ignores everything but the peer's FIN: the socket stayed until a uWS timer 13-16 s later.
 * Outside a cork (or in uWS's own callbacks, which FIN after their uncork) the FIN follows the
 * close frame, so a client waiting for the server to close (RFC 6455 §7.1.1) is not left hanging
 * and the socket is freed when the client's FIN answers. Runs the close handler before returning.
 */
export function endPromptly(ws: WebSocket<Conn>, code: number, reason: string): void {
  ws.end(code, reason);
}
