/**
 * The WebSocket front end (PROTOCOLS.md §4, docs/websocket.md): a route on an existing
 * uWebSockets.js app. Each binary message carries one raw GSS token, in the same lock-step as
 * the `sspi` framing; once the context is complete the server announces the result in one text
 * message and the socket carries application messages, optionally GSS-wrapped. One security
 * context per WebSocket, keyed by the socket's own connection id, so multi-leg NTLM works.
 *
 * uWS lifetimes, enforced here:
 * - A WebSocket is valid from `open` to `close` only; any call after `close` throws ("Invalid
 *   access of closed uWS.WebSocket"). Every async path checks `conn.closed` before touching it.
 * - `ws.end()` and `ws.close()` run the close handler synchronously, before they return.
 * - The message ArrayBuffer is neutered when the handler returns: copy it before any await.
 * - A send from outside a uWS callback (after an await) must be corked.
 * - A message over `maxPayloadLength` is cut by uWS without a close frame (the peer sees 1006),
 *   so uWS gets a larger hard cap and this file sends the 1009 itself up to that cap.
 * - `idleTimeout` outside {0} ∪ [8, 960] makes uWS terminate the process: checked first.
 */
import { EventEmitter } from 'node:events';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_socket_context_t } from '@trufflesuite/uws-js-unofficial';
import { ConfigError, ContextError, FramingError, NegotiateError, PoolError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { ContextFlags } from '../native.js';
import { AcceptError, type AcceptStep, type AuthPool } from '../pool/AuthPool.js';
import { Session } from '../session.js';
import { nextConnectionId } from '../connectionId.js';
import { gssStatusFields } from './logFields.js';

/** WebSocket close codes this front end sends (RFC 6455 §7.4.1, IANA registry for 1013). */
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
} as const;

export type WsCloseCode = (typeof WS_CLOSE)[keyof typeof WS_CLOSE];

/** The one text message the server sends when the handshake completed. */
export interface WsAuthenticatedMessage {
  type: 'authenticated';
  principal: string;
  mech: 'krb5' | 'ntlmssp' | 'unknown';
  spnego: boolean;
  flags: ContextFlags;
  /** When the context expires (ms since the epoch), or null. */
  expiresAt: number | null;
}

export interface WsAcceptorOptions {
  /** The route pattern on the uWS app, e.g. "/ws". */
  path: string;
  pool: AuthPool;
  logger?: Logger;
  /**
   * Largest message accepted, handshake tokens and application messages alike (bytes).
   * Default 65536. A longer one is closed with 1009; uWS itself cuts anything over twice this
   * (no close frame, the peer sees 1006) so a peer cannot make the server buffer more.
   */
  maxTokenBytes?: number;
  /** The whole handshake must complete within this many ms of the upgrade. Default 10000. */
  handshakeTimeoutMs?: number;
  /** uWS idleTimeout: seconds without a message either way before uWS closes. 0 or 8..960. Default 120. */
  idleTimeoutSeconds?: number;
  /**
   * After authentication, application messages in both directions are GSS wrap tokens: the
   * server unwraps each incoming one before onMessage and wraps every reply. Default false.
   */
  wrapMessages?: boolean;
  /**
   * Called with each application message, in order, one at a time: the next is not delivered
   * before the promise returned for this one settles. `reply` sends one binary message (a
   * string is sent as its UTF-8 bytes), wrapped when wrapMessages is set; it may be called at
   * any time until the socket closes, later calls are dropped. A throw or rejection closes the
   * socket with 1011.
   */
  onMessage?: (session: Session, message: Buffer, reply: (data: Uint8Array | string) => void) => void | Promise<void>;
}

/** Facts about a failed handshake, for the 'handshakeFailed' event and logs. */
export interface WsHandshakeFailure {
  connectionId: number;
  frontend: 'ws';
  code: string;
  message: string;
  remoteAddress: string | undefined;
  latencyMs: number;
}

/** Application messages queued per socket before the server stops reading it (1008). */
const MAX_PENDING_MESSAGES = 64;

/**
 * uWS's per-socket send buffer limit. A send past it is dropped by uWS, which would silently
 * break a wrapped stream's sequence, so a dropped send closes the socket instead.
 */
const MAX_BACKPRESSURE = 1024 * 1024;

type Phase = 'handshake' | 'leg' | 'established';

/** Per-socket state: uWS's UserData, created at upgrade. */
interface Conn {
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
  session: Session | undefined;
  /** Application messages received and not yet delivered. */
  pending: number;
  /** Delivery chain: messages are delivered in order, one at a time. */
  inbound: Promise<void>;
  /** wrap/unwrap chain: a context serves one protection call at a time (ERR_CONTEXT_BUSY). */
  protect: Promise<void>;
}

/** A close frame's reason is at most 123 bytes; ours are short ASCII. */
function closeFor(err: unknown): { code: WsCloseCode; reason: string } {
  if (err instanceof AcceptError) return { code: WS_CLOSE.POLICY_VIOLATION, reason: 'authentication failed' };
  if (err instanceof PoolError) {
    return err.code === 'ERR_POOL_CLOSED'
      ? { code: WS_CLOSE.GOING_AWAY, reason: 'server shutting down' }
      : { code: WS_CLOSE.TRY_AGAIN_LATER, reason: 'server busy' };
  }
  if (err instanceof ContextError) {
    return err.code === 'ERR_CONTEXT_TABLE_FULL'
      ? { code: WS_CLOSE.TRY_AGAIN_LATER, reason: 'server busy' }
      : { code: WS_CLOSE.POLICY_VIOLATION, reason: 'authentication failed' };
  }
  if (err instanceof NegotiateError) {
    switch (err.code) {
      case 'ERR_FRAME_TOO_LARGE':
        return { code: WS_CLOSE.MESSAGE_TOO_BIG, reason: 'message too big' };
      case 'ERR_HANDSHAKE_TIMEOUT':
        return { code: WS_CLOSE.POLICY_VIOLATION, reason: 'handshake timeout' };
      case 'ERR_FRAME_EMPTY':
        return { code: WS_CLOSE.PROTOCOL_ERROR, reason: 'empty token' };
      case 'ERR_WS_PROTOCOL':
        return { code: WS_CLOSE.PROTOCOL_ERROR, reason: 'protocol error' };
      default:
        if (err.code.startsWith('ERR_GSS_')) return { code: WS_CLOSE.POLICY_VIOLATION, reason: 'authentication failed' };
    }
  }
  return { code: WS_CLOSE.INTERNAL_ERROR, reason: 'internal error' };
}

function toNegotiateError(err: unknown): NegotiateError {
  if (err instanceof NegotiateError) return err;
  return new NegotiateError('ERR_PROTOCOL', err instanceof Error ? err.message : String(err), { cause: err });
}

function checkOptions(o: WsAcceptorOptions): void {
  const bad = (what: string): never => {
    throw new ConfigError('ERR_CONFIG', `WebSocket front end: ${what}`);
  };
  if (typeof o.path !== 'string' || !o.path.startsWith('/')) bad(`path must be absolute, such as /ws, not ${JSON.stringify(o.path)}`);
  const t = o.maxTokenBytes;
  if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > 64 * 1024 * 1024)) bad(`maxTokenBytes must be an integer in 1..67108864, not ${t}`);
  const h = o.handshakeTimeoutMs;
  // setTimeout fires at once for anything over 2^31 - 1 ms.
  if (h !== undefined && (!Number.isFinite(h) || h <= 0 || h > 2_147_483_647)) bad(`handshakeTimeoutMs must be in 1..2147483647, not ${h}`);
  const i = o.idleTimeoutSeconds;
  // uWS prints an error and calls std::terminate() for anything else.
  if (i !== undefined && (!Number.isInteger(i) || (i !== 0 && (i < 8 || i > 960)))) {
    bad(`idleTimeoutSeconds must be 0 (off) or an integer in 8..960 (a uWS limit), not ${i}`);
  }
}

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
  readonly #logger: Logger;
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
    this.#logger = options.logger ?? silentLogger;
    this.#onMessage = options.onMessage;
    this.maxTokenBytes = options.maxTokenBytes ?? 65536;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.idleTimeoutSeconds = options.idleTimeoutSeconds ?? 120;
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
    const conn: Conn = {
      id: 0,
      ws: undefined,
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString('latin1') || undefined,
      started: Date.now(),
      phase: 'handshake',
      closed: false,
      failed: false,
      deadline: undefined,
      session: undefined,
      pending: 0,
      inbound: Promise.resolve(),
      protect: Promise.resolve(),
    };
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
      this.#fail(conn, new FramingError('ERR_HANDSHAKE_TIMEOUT', `handshake did not complete within ${this.handshakeTimeoutMs} ms`));
    }, this.handshakeTimeoutMs);
  }

  #close(ws: WebSocket<Conn>, code: number): void {
    const conn = ws.getUserData();
    conn.closed = true;
    conn.ws = undefined;
    clearTimeout(conn.deadline);
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
      this.#reportFailure(
        conn,
        this.#closing
          ? new FramingError('ERR_PROTOCOL', 'the server shut down during the handshake')
          : new FramingError('ERR_PROTOCOL', `the client closed the connection during the handshake (code ${code})`),
      );
    }
  }

  #message(ws: WebSocket<Conn>, message: ArrayBuffer, isBinary: boolean): void {
    const conn = ws.getUserData();
    if (conn.closed) return;
    const size = message.byteLength;
    if (conn.phase === 'established') {
      if (!isBinary) {
        this.#fail(conn, new FramingError('ERR_WS_PROTOCOL', 'a text message after authentication; application messages are binary'), {
          code: WS_CLOSE.UNSUPPORTED_DATA,
          reason: 'binary messages only',
        });
      } else if (size > this.maxTokenBytes) {
        this.#fail(conn, new FramingError('ERR_FRAME_TOO_LARGE', `message of ${size} bytes exceeds the ${this.maxTokenBytes}-byte limit`));
      } else {
        // Copy now: uWS neuters the ArrayBuffer when this callback returns.
        this.#enqueue(conn, Buffer.from(new Uint8Array(message)));
      }
      return;
    }
    if (!isBinary) {
      this.#fail(conn, new FramingError('ERR_WS_PROTOCOL', 'a text message during the handshake; tokens are binary messages'));
    } else if (size > this.maxTokenBytes) {
      this.#fail(conn, new FramingError('ERR_FRAME_TOO_LARGE', `token of ${size} bytes exceeds the ${this.maxTokenBytes}-byte limit`));
    } else if (size === 0) {
      this.#fail(conn, new FramingError('ERR_FRAME_EMPTY', 'an empty token'));
    } else if (conn.phase === 'leg') {
      this.#fail(conn, new FramingError('ERR_WS_PROTOCOL', 'a token arrived before the answer to the previous one (lock-step violated)'));
    } else {
      conn.phase = 'leg';
      const leg = this.#leg(conn, Buffer.from(new Uint8Array(message))).catch((err: unknown) => {
        // Only a throwing 'session' listener gets here; the socket is already authenticated.
        this.#logger.error('WebSocket handshake handler failed', { connectionId: conn.id, frontend: 'ws', message: String(err) });
        this.#end(conn, WS_CLOSE.INTERNAL_ERROR, 'internal error');
      });
      this.#legs.add(leg);
      void leg.finally(() => this.#legs.delete(leg));
    }
  }

  /** One accept leg. Sends the answer, or the error token and a close; nothing if the ws closed meanwhile. */
  async #leg(conn: Conn, token: Buffer): Promise<void> {
    let step: AcceptStep;
    try {
      step = await this.#pool.accept(conn.id, token, { abandoned: () => conn.closed });
    } catch (err) {
      if (conn.closed) return;
      // The error token (a KRB-ERROR, or SPNEGO's reject) tells the peer why.
      const output = err instanceof AcceptError && err.output.length > 0 ? err.output : undefined;
      this.#fail(conn, toNegotiateError(err), closeFor(err), output);
      return;
    }
    // Closed while the leg ran: the pool freed the context; nobody to answer.
    if (conn.closed) return;
    if (step.status === 'continue') {
      conn.phase = 'handshake';
      if (step.output.length > 0) this.#send(conn, step.output, true);
      return;
    }
    this.#established(conn, step);
  }

  #established(conn: Conn, step: Extract<AcceptStep, { status: 'complete' }>): void {
    const ws = conn.ws;
    if (!ws) return;
    clearTimeout(conn.deadline);
    conn.phase = 'established';
    const latencyMs = Date.now() - conn.started;
    const session = new Session(this.#pool, {
      connectionId: conn.id,
      frontend: 'ws',
      principal: step.principal,
      mech: step.mech,
      spnego: step.spnego,
      flags: step.flags,
      expiresAt: step.expiresAt,
      remoteAddress: conn.remoteAddress,
      // uWS does not expose the peer's port.
      remotePort: undefined,
      latencyMs,
    });
    conn.session = session;
    this.#sessions += 1;
    const announce: WsAuthenticatedMessage = {
      type: 'authenticated',
      principal: step.principal,
      mech: step.mech,
      spnego: step.spnego,
      flags: step.flags,
      expiresAt: step.expiresAt,
    };
    let dropped = false;
    ws.cork(() => {
      if (step.output.length > 0) dropped = ws.send(step.output, true) === 2;
      dropped = ws.send(JSON.stringify(announce), false) === 2 || dropped;
    });
    if (dropped) {
      this.#fail(conn, new FramingError('ERR_WS_PROTOCOL', 'the peer is not reading (send buffer full)'), { code: WS_CLOSE.POLICY_VIOLATION, reason: 'backpressure limit' });
      return;
    }
    this.#logger.info('authenticated', {
      connectionId: conn.id,
      frontend: 'ws',
      remoteAddress: conn.remoteAddress,
      principal: session.principal,
      mech: session.mech,
      spnego: session.spnego,
      latencyMs,
    });
    this.emit('session', session);
  }

  /** Queues an application message for in-order delivery. */
  #enqueue(conn: Conn, data: Buffer): void {
    if (!this.#onMessage) return;
    if (conn.pending >= MAX_PENDING_MESSAGES) {
      this.#fail(conn, new FramingError('ERR_WS_PROTOCOL', `more than ${MAX_PENDING_MESSAGES} messages waiting for delivery`), {
        code: WS_CLOSE.POLICY_VIOLATION,
        reason: 'too many pending messages',
      });
      return;
    }
    conn.pending += 1;
    conn.inbound = conn.inbound
      .then(() => this.#deliver(conn, data))
      .catch(() => undefined)
      .finally(() => {
        conn.pending -= 1;
      });
  }

  async #deliver(conn: Conn, data: Buffer): Promise<void> {
    const session = conn.session;
    const onMessage = this.#onMessage;
    if (conn.closed || !session || !onMessage) return;
    let message = data;
    if (this.wrapMessages) {
      try {
        message = (await this.#serial(conn, () => session.unwrap(data))).message;
      } catch (err) {
        if (!conn.closed) this.#fail(conn, toNegotiateError(err), { code: WS_CLOSE.POLICY_VIOLATION, reason: 'unwrap failed' });
        return;
      }
      if (conn.closed) return;
    }
    try {
      await onMessage(session, message, (reply) => this.#reply(conn, reply));
    } catch (err) {
      this.#logger.error('onMessage failed', { connectionId: conn.id, frontend: 'ws', message: err instanceof Error ? err.message : String(err) });
      this.#end(conn, WS_CLOSE.INTERNAL_ERROR, 'internal error');
    }
  }

  #reply(conn: Conn, data: Uint8Array | string): void {
    if (conn.closed) return;
    const plain = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (!this.wrapMessages) {
      this.#send(conn, plain, true);
      return;
    }
    const session = conn.session;
    if (!session) return;
    // Wrapped in the order reply() was called and sent as each wrap returns: the peer's
    // sequence checks see them in order.
    this.#serial(conn, async () => {
      if (conn.closed) return;
      const token = await session.wrap(plain);
      this.#send(conn, token, true);
    }).catch((err: unknown) => {
      if (conn.closed) return;
      this.#logger.warn('wrap failed', { connectionId: conn.id, frontend: 'ws', code: toNegotiateError(err).code });
      this.#end(conn, WS_CLOSE.INTERNAL_ERROR, 'internal error');
    });
  }

  /** Runs `fn` after every protection call queued before it on this socket. */
  #serial<T>(conn: Conn, fn: () => Promise<T>): Promise<T> {
    const p = conn.protect.then(fn);
    conn.protect = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
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
      this.#fail(conn, new FramingError('ERR_WS_PROTOCOL', 'the peer is not reading (send buffer full)'), { code: WS_CLOSE.POLICY_VIOLATION, reason: 'backpressure limit' });
    }
  }

  /** Reports `err` (once), sends `output` if any, then closes with the code for `err`. */
  #fail(conn: Conn, err: NegotiateError, close: { code: WsCloseCode; reason: string } = closeFor(err), output?: Buffer): void {
    if (conn.closed) return;
    if (!conn.failed) {
      conn.failed = true;
      if (conn.phase !== 'established') this.#reportFailure(conn, err);
      else this.#logger.info('connection ended with an error', { connectionId: conn.id, frontend: 'ws', code: err.code, message: err.message, remoteAddress: conn.remoteAddress });
    }
    const ws = conn.ws;
    if (!ws) return;
    ws.cork(() => {
      if (output) ws.send(output, true);
      // Runs the close handler before returning.
      ws.end(close.code, close.reason);
    });
  }

  #reportFailure(conn: Conn, err: NegotiateError): void {
    const failure: WsHandshakeFailure = {
      connectionId: conn.id,
      frontend: 'ws',
      code: err.code,
      message: err.message,
      remoteAddress: conn.remoteAddress,
      latencyMs: Date.now() - conn.started,
    };
    const level = err instanceof PoolError ? 'warn' : 'info';
    this.#logger[level]('handshake failed', { ...failure, ...gssStatusFields(err) });
    this.emit('handshakeFailed', failure);
  }

  /** Closing handshake with `code`; the close handler runs before this returns. */
  #end(conn: Conn, code: WsCloseCode, reason: string): void {
    const ws = conn.ws;
    if (conn.closed || !ws) return;
    ws.cork(() => ws.end(code, reason));
  }
}
