/**
 * The WebSocket front end (docs/websocket.md): a route on an existing
 * uWebSockets.js app. Each binary message carries one raw GSS token, in the same lock-step as
 * the `sspi` framing; once the context is complete the server announces the result in one text
 * message and the socket carries application messages, optionally GSS-wrapped. One security
 * context per WebSocket, keyed by the socket's own connection id, so multi-leg NTLM works.
 *
 * uWS lifetimes, enforced here:
 * - A WebSocket is valid from `open` to `close` only; any call after `close` throws ("Invalid
 *   access of closed uWS.WebSocket"). Every async path checks `conn.closed` before touching it.
 * - `ws.end()` and `ws.close()` run the close handler synchronously, before they return.
 * - `ws.end()` inside our own `ws.cork()` never sends the TCP FIN: see endPromptly().
 * - The message ArrayBuffer is neutered when the handler returns: copy it before any await.
 * - A send from outside a uWS callback (after an await) must be corked.
 * - A message over `maxPayloadLength` is cut by uWS without a close frame (the peer sees 1006),
 *   so uWS gets a larger hard cap and this file sends the 1009 itself up to that cap.
 * - `idleTimeout` outside {0} ∪ [8, 960] makes uWS terminate the process: checked first.
 */
import { EventEmitter } from 'node:events';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_socket_context_t } from 'uwebsockets';
import { DEFAULT_LIMITS } from '../config.js';
import { FramingError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { AcceptError, type AcceptStep, type AuthPool } from '../pool/AuthPool.js';
import { nextConnectionId } from '../connectionId.js';
import {
  defaultHandshakesPerAddress,
  HandshakeReporter,
  HandshakesPerAddress,
  sessionFromStep,
} from '../handshake/index.js';
import { closeFor, WS_CLOSE, type WsClose, type WsCloseCode } from './wsClose.js';
import { WsMessageChannel, type WsChannelSocket } from './WsMessageChannel.js';
import { attemptOf, endPromptly, newConn, type Conn } from './wsConnection.js';
import { authenticatedMessage } from './wsOutcome.js';
import { refuseMessage } from './wsMessageCheck.js';
import { checkOptions, DEFAULT_IDLE_TIMEOUT_SECONDS, type WsAcceptorOptions } from './wsOptions.js';
import type { ChannelAcceptOptions } from './httpTls.js';
import { acceptorSlotOf } from '../pool/credentials.js';
import { ALLOW_ALL, type Authorizer } from '../authorization/index.js';
import { refuseSocket } from './wsAuthorization.js';
import { remoteAddressOf } from './httpSetup.js';

export { WS_CLOSE, type WsCloseCode } from './wsClose.js';
export type { WsAcceptorOptions } from './wsOptions.js';
export type { WsAuthenticatedMessage, WsHandshakeFailure } from './wsOutcome.js';

/**
 * uWS's per-socket send buffer limit. A send past it is dropped by uWS, which would silently
 * break a wrapped stream's sequence, so a dropped send closes the socket instead.
 */
const MAX_BACKPRESSURE = 1024 * 1024;

/**
 * Registers the WebSocket handshake route `options.path` on `app` and returns its acceptor.
 * The caller owns the app and its listener. Throws ConfigError (ERR_CONFIG) for bad options.
 */
export function attachWebSocket(app: TemplatedApp, options: WsAcceptorOptions): WsAcceptor {
  return new WsAcceptor(app, options);
}

/**
 * Events: 'session' (Session) after each completed handshake; 'handshakeFailed'
 * (WsHandshakeFailure) after each failed or abandoned one.
 */
export class WsAcceptor extends EventEmitter {
  readonly path: string;
  readonly maxTokenBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly idleTimeoutSeconds: number;
  readonly wrapMessages: boolean;
  readonly #pool: AuthPool;
  readonly #channel: ChannelAcceptOptions;
  readonly #logger: Logger;
  readonly #reporter: HandshakeReporter<'ws'>;
  readonly #authorizer: Authorizer;
  readonly #handshakesPerAddress: HandshakesPerAddress;
  readonly #onMessage: WsAcceptorOptions['onMessage'];
  /** Open sockets (from open to close). */
  readonly #conns = new Set<Conn>();
  /** Accept legs on the pool, for close() to wait on. */
  readonly #legs = new Set<Promise<void>>();
  #sessions = 0;
  #closing = false;

  /** Same as attachWebSocket(app, options): registers the route on `app`. */
  constructor(app: TemplatedApp, options: WsAcceptorOptions) {
    super();
    checkOptions(options);
    this.path = options.path;
    this.#pool = options.pool;
    this.#channel = options.channel ?? {};
    this.#logger = options.logger ?? silentLogger;
    this.#reporter = new HandshakeReporter('ws', this, this.#logger);
    this.#authorizer = options.authorizer ?? ALLOW_ALL;
    this.#onMessage = options.onMessage;
    this.#handshakesPerAddress =
      options.handshakesPerAddress ?? new HandshakesPerAddress(defaultHandshakesPerAddress(DEFAULT_LIMITS.maxContexts));
    this.maxTokenBytes = options.maxTokenBytes ?? DEFAULT_LIMITS.maxTokenBytes;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_LIMITS.handshakeTimeoutMs;
    this.idleTimeoutSeconds = options.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS;
    this.wrapMessages = options.wrapMessages ?? false;
    app.ws<Conn>(this.path, {
      // The hard cap: messages in (maxTokenBytes, 2 * maxTokenBytes] get a clean 1009 from
      // #message; beyond it uWS drops the connection without a close frame.
      maxPayloadLength: 2 * this.maxTokenBytes,
      idleTimeout: this.idleTimeoutSeconds,
      maxBackpressure: Math.max(MAX_BACKPRESSURE, 4 * this.maxTokenBytes),
      closeOnBackpressureLimit: 0,
      // uWS.DISABLED: tokens do not compress, and compression costs memory per socket.
      compression: 0,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.#upgrade(res, req, context),
      open: (ws) => this.#open(ws),
      message: (ws, message, isBinary) => this.#message(ws, message, isBinary),
      close: (ws, code) => this.#close(ws, code),
    });
  }

  /** Open WebSockets on this route (handshaking and authenticated). */
  get connections(): number {
    return this.#conns.size;
  }

  /** Open WebSockets whose handshake completed. */
  get sessions(): number {
    return this.#sessions;
  }

  /**
   * Refuses further upgrades (503) and ends every open socket with 1001; their contexts are
   * released as they close. Resolves once the accept legs still on the pool have returned
   * (their contexts are released then). Idempotent.
   */
  async close(): Promise<void> {
    this.#closing = true;
    // end() runs the close handler at once, which removes the entry: iterate over a copy.
    for (const conn of [...this.#conns]) this.#end(conn, WS_CLOSE.GOING_AWAY, 'server shutting down');
    await Promise.allSettled([...this.#legs]);
  }

  #upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    // Synchronous: req is only valid in this callback, and with no await no onAborted is needed.
    if (this.#closing) {
      res.writeStatus('503 Service Unavailable').writeHeader('Connection', 'close').end('shutting down\n', true);
      return;
    }
    const key = req.getHeader('sec-websocket-key');
    const extensions = req.getHeader('sec-websocket-extensions');
    const conn = newConn(remoteAddressOf(res));
    // No subprotocol is defined: none is selected, whatever the client offers.
    res.upgrade<Conn>(conn, key, '', extensions, context);
  }

  #open(ws: WebSocket<Conn>): void {
    const conn = ws.getUserData();
    conn.ws = ws;
    conn.id = nextConnectionId();
    conn.started = Date.now();
    this.#conns.add(conn);
    if (this.#closing) {
      this.#end(conn, WS_CLOSE.GOING_AWAY, 'server shutting down');
      return;
    }
    conn.deadline = setTimeout(() => {
      if (conn.closed || conn.phase === 'established') return;
      this.#fail(
        conn,
        new FramingError('ERR_HANDSHAKE_TIMEOUT', `handshake did not complete within ${this.handshakeTimeoutMs} ms`),
      );
    }, this.handshakeTimeoutMs);
  }

  #close(ws: WebSocket<Conn>, code: number): void {
    const conn = ws.getUserData();
    conn.closed = true;
    conn.ws = undefined;
    clearTimeout(conn.deadline);
    conn.slot?.release();
    this.#conns.delete(conn);
    // A leg on the pool may still create the context after this; it releases it on return.
    if (conn.session) {
      conn.session.close();
      this.#sessions -= 1;
    } else {
      this.#pool.release(conn.id);
    }
    if (conn.phase !== 'established' && !conn.failed) {
      conn.failed = true;
      this.#reporter.failed(
        attemptOf(conn),
        this.#closing
          ? new FramingError('ERR_PROTOCOL', 'the server shut down during the handshake')
          : new FramingError('ERR_PROTOCOL', `the client closed the connection during the handshake (code ${code})`),
      );
    }
  }

  #message(ws: WebSocket<Conn>, message: ArrayBuffer, isBinary: boolean): void {
    const conn = ws.getUserData();
    if (conn.closed) return;
    const refusal = refuseMessage(conn.phase, message.byteLength, isBinary, this.maxTokenBytes);
    if (refusal !== undefined) {
      this.#fail(conn, refusal.error, refusal.close);
      return;
    }
    // Copy now: uWS neuters the ArrayBuffer when this callback returns.
    const data = Buffer.from(new Uint8Array(message));
    if (conn.phase === 'established') {
      conn.channel?.push(data);
      return;
    }
    conn.phase = 'leg';
    const leg = this.#leg(conn, data).catch((err: unknown) => {
      // Only a throwing 'session' listener gets here; the socket is already authenticated.
      this.#logger.error('WebSocket handshake handler failed', {
        connectionId: conn.id,
        frontend: 'ws',
        message: String(err),
      });
      this.#end(conn, WS_CLOSE.INTERNAL_ERROR, 'internal error');
    });
    this.#legs.add(leg);
    void leg.finally(() => this.#legs.delete(leg));
  }

  /** One accept leg. Sends the answer, or the error token and a close; nothing if the ws closed meanwhile. */
  async #leg(conn: Conn, token: Buffer): Promise<void> {
    let step: AcceptStep;
    try {
      step = await this.#pool.accept(conn.id, token, {
        abandoned: () => conn.closed,
        slot: acceptorSlotOf('ws'),
        ...this.#channel,
      });
    } catch (err) {
      if (conn.closed) return;
      // The error token (a KRB-ERROR, or SPNEGO's reject) tells the peer why.
      const output = err instanceof AcceptError && err.output.length > 0 ? err.output : undefined;
      this.#fail(conn, err, closeFor(err), output);
      return;
    }
    // Closed while the leg ran: the pool freed the context; nobody to answer.
    if (conn.closed) return;
    if (step.status === 'continue') {
      // A context now waits for this client's next leg: the per-address bound counts it.
      // Refused, the context goes at once and the output (an NTLM CHALLENGE) is never sent.
      if (!conn.slot) {
        try {
          conn.slot = this.#handshakesPerAddress.acquire(conn.remoteAddress);
        } catch (err) {
          this.#pool.release(conn.id);
          this.#fail(conn, err);
          return;
        }
      }
      conn.phase = 'handshake';
      if (step.output.length > 0) this.#send(conn, step.output, true);
      return;
    }
    // Nothing to check: established without yielding, as before authorization existed.
    if (this.#authorizer.empty) {
      this.#established(conn, step);
      return;
    }
    const decision = await this.#authorizer.authorize(step, { frontend: 'ws', remoteAddress: conn.remoteAddress });
    if (conn.closed) return;
    if (!decision.allowed) {
      refuseSocket(conn, step, decision, this.#reporter, this.#pool);
      return;
    }
    this.#established(conn, step, decision.extra);
  }

  #established(conn: Conn, step: Extract<AcceptStep, { status: 'complete' }>, extra?: Record<string, unknown>): void {
    const ws = conn.ws;
    if (!ws) return;
    clearTimeout(conn.deadline);
    conn.slot?.release();
    conn.phase = 'established';
    const attempt = attemptOf(conn);
    const session = sessionFromStep(
      this.#pool,
      step,
      {
        connectionId: conn.id,
        frontend: 'ws',
        remoteAddress: conn.remoteAddress,
        // uWS does not expose the peer's port.
        remotePort: undefined,
        latencyMs: attempt.latencyMs,
      },
      extra,
    );
    conn.session = session;
    conn.channel = new WsMessageChannel(this.#channelSocket(conn), session, {
      wrapMessages: this.wrapMessages,
      onMessage: this.#onMessage,
      logger: this.#logger,
    });
    this.#sessions += 1;
    const announce = authenticatedMessage(step, extra);
    let dropped = false;
    ws.cork(() => {
      if (step.output.length > 0) dropped = ws.send(step.output, true) === 2;
      dropped = ws.send(JSON.stringify(announce), false) === 2 || dropped;
    });
    if (dropped) {
      this.#fail(conn, new FramingError('ERR_WS_PROTOCOL', 'the peer is not reading (send buffer full)'), {
        code: WS_CLOSE.POLICY_VIOLATION,
        reason: 'backpressure limit',
      });
      return;
    }
    this.#reporter.succeeded(attempt, session);
  }

  /** The channel's view of `conn`. */
  #channelSocket(conn: Conn): WsChannelSocket {
    return {
      connectionId: conn.id,
      get closed() {
        return conn.closed;
      },
      send: (data) => this.#send(conn, data, true),
      fail: (err, close) => this.#fail(conn, err, close),
      end: (code, reason) => this.#end(conn, code, reason),
    };
  }

  /** Sends one message (corked: callers are async); a send uWS drops for backpressure closes the socket. */
  #send(conn: Conn, data: Uint8Array | string, isBinary: boolean): void {
    const ws = conn.ws;
    if (conn.closed || !ws) return;
    let status = 0;
    ws.cork(() => {
      status = ws.send(data, isBinary);
    });
    if (status === 2) {
      this.#fail(conn, new FramingError('ERR_WS_PROTOCOL', 'the peer is not reading (send buffer full)'), {
        code: WS_CLOSE.POLICY_VIOLATION,
        reason: 'backpressure limit',
      });
    }
  }

  /** Reports `err` (once), sends `output` if any, then closes with the code for `err`. */
  #fail(conn: Conn, err: unknown, close: WsClose = closeFor(err), output?: Buffer): void {
    if (conn.closed) return;
    if (!conn.failed) {
      conn.failed = true;
      if (conn.phase !== 'established') this.#reporter.failed(attemptOf(conn), err);
      else this.#reporter.endedWithError(attemptOf(conn), err);
    }
    const ws = conn.ws;
    if (!ws) return;
    if (output) ws.cork(() => ws.send(output, true));
    endPromptly(ws, close.code, close.reason);
  }

  /** Closing handshake with `code`; the close handler runs before this returns. */
  #end(conn: Conn, code: WsCloseCode, reason: string): void {
    const ws = conn.ws;
    if (conn.closed || !ws) return;
    endPromptly(ws, code, reason);
  }
}
