/**
 * The HTTP front end: RFC 4559 Negotiate on uWebSockets.js (PROTOCOLS.md §3), with optional
 * signed-cookie sessions so a client need not pay a handshake per request.
 *
 * Only single-leg handshakes complete here (Kerberos, alone or in SPNEGO, with the AP-REP as
 * the final token for mutual authentication). A multi-leg mechanism (NTLM) must run every leg
 * on one TCP connection (PROTOCOLS.md §3: a context is never continued from another
 * connection), and this uWS build gives JavaScript no identity for the connection under a
 * request, so the context could not be bound to it. Such handshakes are refused with a reason
 * instead; the WebSocket and TCP front ends support them.
 *
 * uWS rules (STYLE.md lesson 10), kept at every step below:
 *  - `req` lives only until the route handler returns or first awaits: copy headers at once.
 *  - Register onAborted before the first await; after an abort `res` must not be touched.
 *  - Writes outside the synchronous top of the handler must be corked.
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, us_socket } from '@trufflesuite/uws-js-unofficial';
import { ConfigError, NegotiateError, PoolError, type NegotiateErrorCode } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { AuthPool, AcceptStep } from '../pool/AuthPool.js';
import { AcceptError } from '../pool/AuthPool.js';
import type { SessionInfo } from '../session.js';
import { nextConnectionId } from '../connectionId.js';
import { formatWwwAuthenticate, parseAuthorization } from '../framing/negotiateHeader.js';
import { SessionCookies, type SessionCookieOptions } from '../http/sessionCookie.js';
import { loadUws, type UwsModule } from './uws.js';
import { gssStatusFields } from './logFields.js';

/** Cookie-session settings of the HTTP front end (see src/http/sessionCookie.ts). */
export interface HttpSessionCookieOptions {
  /** HMAC keys (≥ 32 bytes each); the first signs, all verify. Default: one random key per start. */
  keys?: Buffer[] | undefined;
  /** Cookie lifetime, seconds; never beyond the Kerberos ticket's end. Default 3600. */
  ttlSeconds?: number | undefined;
  /** Mark the cookie `Secure` (set it when clients connect over TLS). Default false. */
  secure?: boolean | undefined;
  /** Default 'Lax'. */
  sameSite?: 'Lax' | 'Strict' | undefined;
  /** Default `negotiate_session`. */
  name?: string | undefined;
}

export interface HttpAcceptorOptions {
  pool: AuthPool;
  logger?: Logger | undefined;
  /** Largest decoded Negotiate token accepted, bytes; checked on the base64 text before decoding. Default 65536. */
  maxTokenBytes?: number | undefined;
  /** Cookie sessions after a successful handshake; undefined: none (every request negotiates). */
  sessionCookie?: HttpSessionCookieOptions | undefined;
  /** Run on uWS's slow JavaScript emulation (with a warning) instead of refusing to start. */
  allowUwsFallback?: boolean | undefined;
}

/** The authenticated client of one HTTP request. */
export interface HttpIdentity extends Pick<SessionInfo, 'principal' | 'mech' | 'spnego' | 'flags' | 'remoteAddress'> {
  readonly frontend: 'http';
  /** 'negotiate': the handshake's latency, from the request's arrival, ms. */
  readonly latencyMs?: number;
  /** Negotiate: when the context (ticket) expires; cookie: when the cookie expires. ms since the epoch, or null. */
  readonly expiresAt: number | null;
  /** 'negotiate': this request carried a handshake; 'cookie': a session cookie from an earlier one. */
  readonly via: 'negotiate' | 'cookie';
}

/** Facts about a refused or failed handshake, for 'handshakeFailed' and logs. */
export interface HttpHandshakeFailure {
  /** Names the request's handshake in logs (uWS gives no identity for the connection). */
  connectionId: number;
  frontend: 'http';
  code: string;
  message: string;
  remoteAddress: string | undefined;
  latencyMs: number;
}

/** The request as copied out of uWS before any await. */
export interface HttpRequestInfo {
  /** Lowercase method, e.g. `get`. */
  readonly method: string;
  /** Path, from the first slash, without the query. */
  readonly url: string;
  /** Raw query string (after `?`), or ''. */
  readonly query: string;
  /** Values of the route pattern's `:name` parameters, in order. */
  readonly parameters: readonly string[];
}

/** Request headers, lowercase names. `authorization` is left out: its token is spent and is a credential. */
export type HttpHeaders = Readonly<Record<string, string>>;

/**
 * The response handed to a protected route. Valid until `end` succeeds or the client aborts;
 * every method is safe to call after an abort (it does nothing and returns false).
 */
export interface HttpReply {
  /** True once the client went away; nothing can be sent any more. */
  readonly aborted: boolean;
  /** True once a response was sent (or the client went away). */
  readonly finished: boolean;
  /**
   * Headers the Negotiate flow adds to the response (the final WWW-Authenticate token for
   * mutual authentication, Set-Cookie). `end` and `json` send them; `raw` users must too.
   */
  readonly authHeaders: ReadonlyArray<readonly [string, string]>;
  /** Called once if the client goes away before the response is sent. */
  onAborted(cb: () => void): void;
  /** Sends the whole response (corked, one write). Status default 200. Returns false if it could not. */
  end(body?: string | Uint8Array, options?: { status?: number; headers?: Record<string, string> }): boolean;
  /** Sends `value` as JSON (`Cache-Control: no-store`). */
  json(value: unknown, status?: number): boolean;
  /**
   * The uWS response, for streaming. Using it, you own the uWS rules: cork every write done
   * after an await, check `aborted` first, write `authHeaders`, and end it.
   */
  readonly raw: HttpResponse;
}

export type ProtectedHandler = (identity: HttpIdentity, res: HttpReply, headers: HttpHeaders, request: HttpRequestInfo) => void | Promise<void>;

/** Response bodies for refusals: short, plain text, never echoing the client's credentials. */
const kChallengeBody = 'Negotiate authentication required\n';
export const MULTI_LEG_REFUSAL =
  'This server cannot complete a multi-leg Negotiate mechanism (NTLM, raw or inside SPNEGO) over HTTP: ' +
  'each leg must arrive on the same TCP connection, and this HTTP front end cannot bind a security context to one. ' +
  'Use Kerberos here, or the WebSocket or TCP front ends, which support NTLM.\n';

function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Status'}`;
}

function paramCount(pattern: string): number {
  return pattern.split('/').filter((s) => s.startsWith(':')).length;
}

class Reply implements HttpReply {
  readonly raw: HttpResponse;
  readonly authHeaders: Array<readonly [string, string]> = [];
  #aborted = false;
  #finished = false;
  #onAborted: Array<() => void> = [];

  constructor(res: HttpResponse) {
    this.raw = res;
    // uWS: a response not ended synchronously MUST have an abort handler, registered before
    // returning from the route (i.e. before the first await); after it fires, res is freed.
    res.onAborted(() => {
      this.#aborted = true;
      this.#finished = true;
      for (const cb of this.#onAborted.splice(0)) cb();
    });
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get finished(): boolean {
    return this.#finished;
  }

  onAborted(cb: () => void): void {
    if (this.#aborted) cb();
    else this.#onAborted.push(cb);
  }

  end(body: string | Uint8Array = '', options: { status?: number; headers?: Record<string, string> } = {}): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    const res = this.raw;
    // Corked: after an await we are outside uWS's implicit cork, where each writeHeader would
    // be its own syscall (or TLS record) and uWS warns; cork packs status, headers and body into
    // one write. Inside the synchronous top of a route, cork simply runs the callback.
    res.cork(() => {
      res.writeStatus(statusLine(options.status ?? 200));
      for (const [k, v] of this.authHeaders) res.writeHeader(k, v);
      for (const [k, v] of Object.entries(options.headers ?? {})) res.writeHeader(k, v);
      res.end(body);
    });
    return true;
  }

  json(value: unknown, status = 200): boolean {
    return this.end(JSON.stringify(value), {
      status,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    });
  }
}

/** Everything about one request that outlives uWS's `req`. */
interface Exchange {
  /** The handshake's context-table key, also its id in logs; one per request. */
  readonly connectionId: number;
  readonly reply: Reply;
  readonly started: number;
  readonly remoteAddress: string | undefined;
  readonly authorization: string;
  readonly cookie: string;
  readonly headers: HttpHeaders;
  readonly request: HttpRequestInfo;
}

/**
 * Events: 'session' (HttpIdentity) after each completed handshake (not for requests
 * authenticated by cookie); 'handshakeFailed' (HttpHandshakeFailure) after each refused or
 * failed one (not for the credential-less first request, which is the normal challenge).
 */
export class HttpAcceptor extends EventEmitter {
  /**
   * The uWS app. Another front end (WebSocket) may add routes to it to share the listener;
   * close() closes every connection of this app, theirs included.
   */
  readonly app: TemplatedApp;
  readonly maxTokenBytes: number;
  /** Cookie sessions, when enabled. */
  readonly cookies: SessionCookies | undefined;
  readonly #uws: UwsModule;
  readonly #pool: AuthPool;
  readonly #logger: Logger;
  readonly #inFlight = new Set<Promise<void>>();
  #listenSocket: us_listen_socket | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: HttpAcceptorOptions) {
    super();
    this.#pool = options.pool;
    this.#logger = options.logger ?? silentLogger;
    this.maxTokenBytes = options.maxTokenBytes ?? 65536;
    if (!Number.isInteger(this.maxTokenBytes) || this.maxTokenBytes < 1) {
      throw new ConfigError('ERR_CONFIG', `maxTokenBytes must be a positive integer, got ${String(options.maxTokenBytes)}`);
    }
    this.#uws = loadUws({ allowFallback: options.allowUwsFallback ?? false, logger: this.#logger });
    if (options.sessionCookie !== undefined) {
      const c = options.sessionCookie;
      const cookieOptions: SessionCookieOptions = { keys: c.keys, ttlSeconds: c.ttlSeconds, secure: c.secure, sameSite: c.sameSite, name: c.name };
      this.cookies = new SessionCookies(cookieOptions);
      if (this.cookies.generatedKey) {
        this.#logger.info('HTTP session cookies signed with a key generated at start: sessions end when the server restarts', {
          frontend: 'http',
        });
      }
    } else {
      this.cookies = undefined;
    }
    this.app = this.#uws.App();
    this.protect('/whoami', (identity, res) => {
      res.json({ principal: identity.principal, mech: identity.mech, spnego: identity.spnego, flags: identity.flags, via: identity.via });
    });
  }

  /**
   * Starts listening (port 0 picks a free port). Resolves with the bound address; rejects
   * with ERR_CONFIG when uWS cannot bind (it reports no errno: usually the port is in use).
   */
  listen(port: number, host: string): Promise<{ address: string; port: number }> {
    if (this.#listenSocket !== undefined) return Promise.reject(new ConfigError('ERR_CONFIG', 'the HTTP acceptor is already listening'));
    // Unrouted requests: this uWS build drops the connection without a response; answer 404.
    // A wildcard has the lowest priority in the uWS router, so routes added later (also by
    // another front end sharing `app`) still win.
    this.app.any('/*', (res) => {
      res.writeStatus(statusLine(404)).end('Not found\n');
    });
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (listenSocket) => {
        if (listenSocket === false) {
          reject(new ConfigError('ERR_CONFIG', `the HTTP front end cannot listen on ${host}:${port} (address in use, or not local)`));
          return;
        }
        this.#listenSocket = listenSocket;
        // With port 0 the kernel chose; ask the socket.
        const bound = this.#uws.us_socket_local_port(listenSocket as unknown as us_socket);
        this.#logger.info('listening', { frontend: 'http', host, port: bound });
        resolve({ address: host, port: bound });
      });
    });
  }

  /**
   * Registers a GET route (uWS pattern: `/a/:id`, `/files/*`) that runs the Negotiate flow
   * first and calls `handler` with the proven identity. The handler must end `res` (or stream
   * through `res.raw`); if it throws, the client gets a 500.
   */
  protect(pattern: string, handler: ProtectedHandler): this {
    const params = paramCount(pattern);
    this.app.get(pattern, (res: HttpResponse, req: HttpRequest) => {
      // uWS: req is stack-allocated and dies when this function returns or awaits: copy
      // everything we need out of it now. onAborted is attached by Reply, before any await.
      const reply = new Reply(res);
      const authorization = req.getHeader('authorization');
      const cookie = this.cookies ? req.getHeader('cookie') : '';
      const headers: Record<string, string> = {};
      req.forEach((k, v) => {
        if (k !== 'authorization') headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
      });
      const parameters: string[] = [];
      for (let i = 0; i < params; i++) parameters.push(req.getParameter(i));
      const ex: Exchange = {
        connectionId: nextConnectionId(),
        reply,
        started: performance.now(),
        remoteAddress: remoteAddressOf(res),
        authorization,
        cookie,
        headers,
        request: { method: req.getMethod(), url: req.getUrl(), query: req.getQuery() ?? '', parameters },
      };
      const work = this.#serve(ex, handler).catch((err: unknown) => this.#internalError(ex, err));
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
    });
    return this;
  }

  /** Requests being authenticated or handled right now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Stops listening, lets requests in flight finish for up to `graceMs`, then closes every
   * connection of the app, idle keep-alive ones included. Closing only the listen socket is
   * not enough: uWS keeps serving (and the process keeps running for) connections already
   * open. This build's native App has close() for that (it is not in its index.d.ts); its
   * JavaScript emulation has not, and there idle connections end by uWS's 10 s idle timeout.
   */
  close(graceMs = 5000): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#listenSocket !== undefined) {
        this.#uws.us_listen_socket_close(this.#listenSocket);
        this.#listenSocket = undefined;
      }
      if (this.#inFlight.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...this.#inFlight]),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, graceMs);
          }),
        ]);
        clearTimeout(timer);
      }
      const app = this.app as TemplatedApp & { close?: () => void };
      // Runs onAborted of requests still open, so nothing writes to a closed response.
      if (typeof app.close === 'function') app.close();
    })();
    return this.#closing;
  }

  async #serve(ex: Exchange, handler: ProtectedHandler): Promise<void> {
    let invalidCookie = false;
    if (this.cookies !== undefined) {
      const v = this.cookies.fromCookieHeader(ex.cookie);
      if (v?.ok) {
        const s = v.session;
        const identity: HttpIdentity = {
          frontend: 'http',
          principal: s.principal,
          mech: s.mech,
          spnego: s.spnego,
          flags: s.flags,
          expiresAt: s.expiresAt,
          remoteAddress: ex.remoteAddress,
          via: 'cookie',
        };
        await this.#runHandler(ex, handler, identity);
        return;
      }
      if (v !== undefined) {
        invalidCookie = true;
        // Never log the cookie itself: it is a bearer credential.
        this.#logger.debug('session cookie ignored', { frontend: 'http', remoteAddress: ex.remoteAddress, reason: v.reason });
      }
    }

    const parsed = parseAuthorization(ex.authorization, this.maxTokenBytes);
    if (parsed.kind === 'none') {
      this.#challenge(ex, 401, kChallengeBody, invalidCookie);
      return;
    }
    if (parsed.kind === 'invalid') {
      this.#failed(ex, parsed.code, parsed.message);
      const status = parsed.code === 'ERR_HTTP_HEADER_TOO_LARGE' ? 431 : 401;
      this.#challenge(ex, status, `${parsed.message}\n`, invalidCookie);
      return;
    }

    // One context per handshake, freed as soon as the leg returns: HTTP contexts are never
    // kept, because no later request can be tied to this connection (see the module comment).
    const id = ex.connectionId;
    let step: AcceptStep;
    try {
      step = await this.#pool.accept(id, parsed.token, { releaseAfter: true });
    } catch (err) {
      // A failed accept freed its own context and a refused task created none, but a task that
      // timed out may be stopped before the worker's releaseAfter runs: free it here (a
      // context still checked out is freed when the native call returns).
      this.#pool.release(id);
      this.#acceptFailed(ex, err, invalidCookie);
      return;
    }

    if (step.status === 'continue') {
      this.#failed(ex, 'ERR_HTTP_MULTI_LEG_UNSUPPORTED', 'the mechanism needs another leg (NTLM), which this HTTP front end cannot bind to the connection');
      this.#challenge(ex, 401, MULTI_LEG_REFUSAL, invalidCookie);
      return;
    }
    if (ex.reply.aborted) {
      this.#logger.debug('client went away during the handshake', { frontend: 'http', remoteAddress: ex.remoteAddress, principal: step.principal });
      return;
    }

    const latencyMs = Math.round(performance.now() - ex.started);
    const identity: HttpIdentity = {
      frontend: 'http',
      principal: step.principal,
      mech: step.mech,
      spnego: step.spnego,
      flags: step.flags,
      expiresAt: step.expiresAt,
      remoteAddress: ex.remoteAddress,
      via: 'negotiate',
      latencyMs,
    };
    // The final token (the AP-REP inside SPNEGO's accept-completed) goes with the 200: the
    // client verifies it to authenticate the server (mutual authentication).
    if (step.output.length > 0) ex.reply.authHeaders.push(['WWW-Authenticate', formatWwwAuthenticate(step.output)]);
    if (this.cookies !== undefined) {
      const c = this.cookies.issue({ principal: step.principal, mech: step.mech, spnego: step.spnego, flags: step.flags, notAfter: step.expiresAt });
      if (c.expiresAt > Date.now()) ex.reply.authHeaders.push(['Set-Cookie', c.setCookie]);
    }
    this.#logger.info('authenticated', {
      frontend: 'http',
      connectionId: id,
      remoteAddress: ex.remoteAddress,
      principal: step.principal,
      mech: step.mech,
      spnego: step.spnego,
      latencyMs,
    });
    this.emit('session', identity);
    await this.#runHandler(ex, handler, identity);
  }

  async #runHandler(ex: Exchange, handler: ProtectedHandler, identity: HttpIdentity): Promise<void> {
    try {
      await handler(identity, ex.reply, ex.headers, ex.request);
    } catch (err) {
      this.#internalError(ex, err);
    }
  }

  /**
   * A failed accept. AcceptError → 401 with a bare `Negotiate` challenge, not GSSAPI's error
   * token: in RFC 4559 a 401 carrying gssapi-data means "continue the handshake with this
   * token", so curl and browsers feed it to gss_init_sec_context and turn a clean refusal into
   * a client-side GSS error; a bare challenge means "this attempt failed, start over". (The
   * TCP front ends do send the error token: there it is unambiguous.) Overload → 503.
   */
  #acceptFailed(ex: Exchange, err: unknown, invalidCookie: boolean): void {
    if (err instanceof PoolError || (err instanceof NegotiateError && err.code === 'ERR_CONTEXT_TABLE_FULL')) {
      this.#failed(ex, err.code, err.message, 'warn', err);
      if (!ex.reply.end('The server is busy; retry shortly\n', { status: 503, headers: { 'Retry-After': '1', 'Content-Type': 'text/plain' } })) {
        this.#logger.debug('client went away before the 503', { frontend: 'http', remoteAddress: ex.remoteAddress });
      }
      return;
    }
    if (err instanceof NegotiateError) {
      this.#failed(ex, err.code, err.message, 'info', err);
      const what = err instanceof AcceptError ? 'Negotiate authentication failed' : 'Negotiate authentication could not run';
      this.#challenge(ex, 401, `${what} (${err.code})\n`, invalidCookie);
      return;
    }
    throw err;
  }

  /** Answers `status` with a bare `WWW-Authenticate: Negotiate` challenge and a text body. */
  #challenge(ex: Exchange, status: number, body: string, clearCookie: boolean): void {
    const headers: Record<string, string> = { 'WWW-Authenticate': formatWwwAuthenticate(), 'Content-Type': 'text/plain' };
    // A cookie we refused is useless to the client; tell it to drop it.
    if (clearCookie && this.cookies !== undefined) headers['Set-Cookie'] = this.cookies.clearCookieHeader();
    ex.reply.end(body, { status, headers });
  }

  #failed(ex: Exchange, code: NegotiateErrorCode | string, message: string, level: 'info' | 'warn' = 'info', err?: unknown): void {
    const failure: HttpHandshakeFailure = {
      connectionId: ex.connectionId,
      frontend: 'http',
      code,
      message,
      remoteAddress: ex.remoteAddress,
      latencyMs: Math.round(performance.now() - ex.started),
    };
    this.#logger[level]('handshake failed', { ...failure, ...gssStatusFields(err) });
    this.emit('handshakeFailed', failure);
  }

  #internalError(ex: Exchange, err: unknown): void {
    this.#logger.error('request failed', {
      frontend: 'http',
      remoteAddress: ex.remoteAddress,
      url: ex.request.url,
      message: err instanceof Error ? err.message : String(err),
    });
    ex.reply.end('Internal server error\n', { status: 500, headers: { 'Content-Type': 'text/plain' } });
  }
}

function remoteAddressOf(res: HttpResponse): string | undefined {
  try {
    const text = Buffer.from(res.getRemoteAddressAsText()).toString();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}
