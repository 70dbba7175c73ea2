/**
 * The HTTP front end: RFC 4559 Negotiate on uWebSockets.js (docs/http.md), with optional
 * signed-cookie sessions so a client need not pay a handshake per request.
 *
 * Only single-leg handshakes complete here (Kerberos, alone or in SPNEGO, with the AP-REP as
 * the final token for mutual authentication). A multi-leg mechanism (NTLM) must run every leg
 * on one TCP connection (docs/http.md: a context is never continued from another
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
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uwebsockets';
import { DEFAULT_LIMITS } from '../config.js';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { AuthPool, AcceptStep } from '../pool/AuthPool.js';
import { nextConnectionId } from '../connectionId.js';
import { formatWwwAuthenticate, parseAuthorization } from '../framing/negotiateHeader.js';
import type { SessionCookies } from '../http/sessionCookie.js';
import { collectFraming, refusedForFraming } from './httpFraming.js';
import { CappedListener } from '../http/CappedListener.js';
import { HandshakeReporter, identityFromStep, type HandshakeAttempt } from '../handshake/index.js';
import { identityFromCookie } from '../http/cookieIdentity.js';
import { positiveWhole, sessionCookiesFrom } from '../http/frontEndSetup.js';
import { refusalForAcceptError, refusalForHeader, type HttpRefusal } from '../http/negotiateRefusal.js';
import { loadUws, type UwsModule } from './uws.js';
import { Reply, statusLine, type HttpHeaders, type HttpRequestInfo } from './HttpReply.js';
import { acceptorSlotOf } from '../pool/credentials.js';
import { channelAcceptOptions, createUwsApp, type ChannelAcceptOptions } from './httpTls.js';

export type { HttpHeaders, HttpReply, HttpRequestInfo } from './HttpReply.js';
export {
  MULTI_LEG_REFUSAL,
  NO_TICKET_BODY,
  type HttpAcceptorOptions,
  type HttpHandshakeFailure,
  type HttpIdentity,
  type HttpSessionCookieOptions,
  type ProtectedHandler,
} from './httpOptions.js';
import { remoteAddressOf } from './httpSetup.js';
import {
  CHALLENGE_BODY,
  MULTI_LEG_REFUSAL,
  type HttpAcceptorOptions,
  type HttpIdentity,
  type ProtectedHandler,
} from './httpOptions.js';

function paramCount(pattern: string): number {
  return pattern.split('/').filter((s) => s.startsWith(':')).length;
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
  readonly #reporter: HandshakeReporter<'http'>;
  readonly #inFlight = new Set<Promise<void>>();
  /** With TLS: the channel binding each accept step carries (httpTls.ts); the WebSocket route's too. */
  readonly channel: ChannelAcceptOptions;
  readonly maxConnections: number;
  #listener: CappedListener | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: HttpAcceptorOptions) {
    super();
    this.#pool = options.pool;
    this.#logger = options.logger ?? silentLogger;
    this.#reporter = new HandshakeReporter('http', this, this.#logger);
    this.maxTokenBytes = positiveWhole('maxTokenBytes', options.maxTokenBytes, DEFAULT_LIMITS.maxTokenBytes);
    this.maxConnections = positiveWhole('maxConnections', options.maxConnections, DEFAULT_LIMITS.maxConnections);
    this.#uws = loadUws({ maxTokenBytes: this.maxTokenBytes, logger: this.#logger });
    this.cookies = sessionCookiesFrom(options.sessionCookie, this.#logger, 'http');
    this.app = createUwsApp(this.#uws, options.tls);
    this.channel = channelAcceptOptions(options.tls);
    this.protect('/whoami', (identity, res) => {
      const { principal, mech, spnego, flags, via, pac } = identity;
      res.json({ principal, mech, spnego, flags, via, ...(pac !== undefined ? { pac } : {}) });
    });
  }

  /**
   * Starts listening (port 0 picks a free port) on a port of its own (SO_REUSEPORT off, so a
   * second server cannot silently share it). Resolves with the bound address; rejects with an
   * EADDRINUSE error, as node:net would, when uWS cannot bind (it reports no errno: the port
   * is in use, or the address is not local).
   */
  listen(port: number, host: string): Promise<{ address: string; port: number }> {
    if (this.#listener !== undefined)
      return Promise.reject(new ConfigError('ERR_CONFIG', 'the HTTP acceptor is already listening'));
    const listener = new CappedListener({
      app: this.app,
      uws: this.#uws,
      maxConnections: this.maxConnections,
      logger: this.#logger,
    });
    this.#listener = listener;
    // Unrouted requests: this uWS build drops the connection without a response; answer 404.
    // A wildcard has the lowest priority in the uWS router, so routes added later (also by
    // another front end sharing `app`) still win.
    this.app.any('/*', (res, req) => {
      const framing: Array<[string, string]> = [];
      req.forEach((k, v) => collectFraming(framing, k, v));
      if (refusedForFraming(new Reply(res), framing, remoteAddressOf(res), this.#logger)) return;
      res.writeStatus(statusLine(404)).end('Not found\n');
    });
    return listener.listen(host, port).then((bound) => {
      if (bound === undefined) {
        this.#listener = undefined;
        const err = new Error(`listen EADDRINUSE: address already in use (or not a local address) ${host}:${port}`);
        throw Object.assign(err, { code: 'EADDRINUSE', syscall: 'listen', address: host, port });
      }
      this.#logger.info('listening', { frontend: 'http', host, port: bound });
      return { address: host, port: bound };
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
      const framing: Array<[string, string]> = [];
      req.forEach((k, v) => {
        if (k !== 'authorization') headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
        collectFraming(framing, k, v);
      });
      if (refusedForFraming(reply, framing, remoteAddressOf(res), this.#logger)) return;
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

  /** Connections on the listener (WebSockets included) at the cap's last count (every 100 ms). */
  get connections(): number {
    return this.#listener?.connections ?? 0;
  }

  /** At the connection cap: new connections are refused until some close. */
  get atConnectionCap(): boolean {
    return this.#listener?.atCap ?? false;
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
      this.#listener?.close();
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

  /**
   * A request with ambiguous framing (src/http/requestFraming.ts): 400, then close, and nothing
   * after it on the connection answered. The 400 is sent one turn later on purpose: answered in
   * the route's synchronous top, uWS would go on parsing the bytes behind this header block in
   * the same read (the smuggled request) and route them. While this response is pending, uWS
   * closes the connection instead of parsing a next request, answering neither; and once the
   * 400 with `Connection: close` is out, uWS reads nothing more from the socket.
   */

  async #serve(ex: Exchange, handler: ProtectedHandler): Promise<void> {
    // The fresh credential wins: an Authorization header, when present, is processed and its
    // outcome stands (a success as its user, or its failure). The cookie only stands in for a
    // handshake on requests without one; otherwise a client holding another user's cookie
    // would be answered as that user whatever it just proved.
    const parsed = parseAuthorization(ex.authorization, this.maxTokenBytes);
    let invalidCookie = false;
    if (parsed.kind === 'none' && this.cookies !== undefined) {
      const fromCookie = identityFromCookie(this.cookies, ex.cookie, ex.remoteAddress, this.#logger, 'http');
      if (fromCookie.identity !== undefined) {
        const identity: HttpIdentity = {
          frontend: 'http',
          ...fromCookie.identity,
          remoteAddress: ex.remoteAddress,
          via: 'cookie',
        };
        await this.#runHandler(ex, handler, identity);
        return;
      }
      invalidCookie = fromCookie.invalid;
    }

    if (parsed.kind === 'none') {
      this.#challenge(ex, 401, CHALLENGE_BODY, invalidCookie);
      return;
    }
    if (parsed.kind === 'invalid') {
      this.#reporter.refused(this.#attempt(ex), parsed.code, parsed.message);
      this.#refuse(ex, refusalForHeader(parsed), invalidCookie);
      return;
    }

    // One context per handshake, freed as soon as the leg returns: HTTP contexts are never
    // kept, because no later request can be tied to this connection (see the module comment).
    const id = ex.connectionId;
    let step: AcceptStep;
    const slot = acceptorSlotOf('http');
    try {
      step = await this.#pool.accept(id, parsed.token, { releaseAfter: true, slot, ...this.channel });
    } catch (err) {
      // A failed accept freed its own context and a refused task created none, but a task that
      // timed out may be stopped before the worker's releaseAfter runs: free it here (a
      // context still checked out is freed when the native call returns).
      this.#pool.release(id);
      this.#acceptFailed(ex, err, invalidCookie);
      return;
    }

    if (step.status === 'continue') {
      this.#reporter.refused(
        this.#attempt(ex),
        'ERR_HTTP_MULTI_LEG_UNSUPPORTED',
        'the mechanism needs another leg (NTLM), which this HTTP front end cannot bind to the connection',
      );
      this.#challenge(ex, 401, MULTI_LEG_REFUSAL, invalidCookie);
      return;
    }
    if (ex.reply.aborted) {
      this.#logger.debug('client went away during the handshake', {
        frontend: 'http',
        remoteAddress: ex.remoteAddress,
        principal: step.principal,
      });
      return;
    }

    const attempt = this.#attempt(ex);
    const identity: HttpIdentity = {
      frontend: 'http',
      ...identityFromStep(step),
      remoteAddress: ex.remoteAddress,
      via: 'negotiate',
      latencyMs: attempt.latencyMs,
    };
    // The final token (the AP-REP inside SPNEGO's accept-completed) goes with the 200: the
    // client verifies it to authenticate the server (mutual authentication).
    if (step.output.length > 0) ex.reply.authHeaders.push(['WWW-Authenticate', formatWwwAuthenticate(step.output)]);
    if (this.cookies !== undefined) {
      const c = this.cookies.issue({
        principal: step.principal,
        mech: step.mech,
        spnego: step.spnego,
        flags: step.flags,
        notAfter: step.expiresAt,
      });
      if (c.expiresAt > Date.now()) ex.reply.authHeaders.push(['Set-Cookie', c.setCookie]);
    }
    this.#reporter.succeeded(attempt, identity);
    await this.#runHandler(ex, handler, identity);
  }

  async #runHandler(ex: Exchange, handler: ProtectedHandler, identity: HttpIdentity): Promise<void> {
    try {
      await handler(identity, ex.reply, ex.headers, ex.request);
    } catch (err) {
      this.#internalError(ex, err);
    }
  }

  /** A failed accept: the shared answer (src/http/negotiateRefusal.ts), 401 or 503. */
  #acceptFailed(ex: Exchange, err: unknown, invalidCookie: boolean): void {
    const refusal = refusalForAcceptError(err);
    if (refusal === undefined) throw err;
    this.#reporter.failed(this.#attempt(ex), err);
    // Busy leaves a refused cookie alone: the client may retry with it.
    const sent = this.#refuse(ex, refusal, refusal.busy ? false : invalidCookie);
    if (!sent && refusal.busy)
      this.#logger.debug('client went away before the 503', { frontend: 'http', remoteAddress: ex.remoteAddress });
  }

  /** Sends `refusal` as the whole response; false when the client had gone. */
  #refuse(ex: Exchange, refusal: HttpRefusal, clearCookie: boolean): boolean {
    const headers: Record<string, string> = Object.fromEntries(refusal.headers);
    // A cookie we refused is useless to the client; tell it to drop it.
    if (clearCookie && this.cookies !== undefined) headers['Set-Cookie'] = this.cookies.clearCookieHeader();
    return ex.reply.end(refusal.body, { status: refusal.status, headers });
  }

  /** Answers `status` with a bare `WWW-Authenticate: Negotiate` challenge and a text body. */
  #challenge(ex: Exchange, status: number, body: string, clearCookie: boolean): void {
    const headers: Record<string, string> = {
      'WWW-Authenticate': formatWwwAuthenticate(),
      'Content-Type': 'text/plain',
    };
    // A cookie we refused is useless to the client; tell it to drop it.
    if (clearCookie && this.cookies !== undefined) headers['Set-Cookie'] = this.cookies.clearCookieHeader();
    ex.reply.end(body, { status, headers });
  }

  #attempt(ex: Exchange): HandshakeAttempt {
    const latencyMs = Math.round(performance.now() - ex.started);
    return { connectionId: ex.connectionId, remoteAddress: ex.remoteAddress, latencyMs };
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
