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
 *  - onData in the synchronous top too, and reading paused until the client is proven
 *    (httpBody.ts): an unauthenticated client must not make us hold its body.
 */
import { EventEmitter } from 'node:events';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uwebsockets';
import { DEFAULT_LIMITS } from '../config.js';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { AuthPool } from '../pool/AuthPool.js';
import { parseAuthorization } from '../framing/negotiateHeader.js';
import type { SessionCookies } from '../http/sessionCookie.js';
import { CappedListener } from '../http/CappedListener.js';
import { HandshakeReporter } from '../handshake/index.js';
import { attemptOf } from './httpAuthorization.js';
import { negotiateRequest, type HttpNegotiation } from './httpNegotiateStep.js';
import { basicRequest, readBasic, type BasicDeps } from './httpBasicStep.js';
import { BASIC_NEEDS_TLS } from '../basic/BasicAuth.js';
import { loadUws, type UwsModule } from './uws.js';
import { identityFromCookie } from '../http/cookieIdentity.js';
import { positiveWhole, sessionCookiesFrom } from '../http/frontEndSetup.js';
import { refusalForHeader, type HttpRefusal } from '../http/negotiateRefusal.js';
import { ALLOW_ALL } from '../authorization/index.js';
import { channelAcceptOptions, createUwsApp, type ChannelAcceptOptions } from './httpTls.js';
import { refusedForFraming } from './httpFraming.js';
import { BodyAccounting, BodyReader, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES_BEFORE_AUTH } from './httpBody.js';
import type { BodyRefusal } from './httpBody.js';
import { isCorsPreflight, paramCount, readExchange, type Exchange } from './httpExchange.js';
import { ProtectedRoutes, routeMethods, type Route } from './httpRoutes.js';
import {
  answerBodyRefused,
  answerChallenge,
  answerInternalError,
  answerUnrouted,
  answerWhoami,
  sendRefusal,
} from './httpAnswers.js';
import { CHALLENGE_BODY } from './httpOptions.js';
import type { HttpAcceptorOptions, HttpIdentity, ProtectedHandler, ProtectOptions } from './httpOptions.js';
import { settleWithin } from '../lifecycle/drain.js';

export type { HttpHeaders, HttpReply, HttpRequestInfo } from './HttpReply.js';
export {
  HTTP_METHODS,
  MULTI_LEG_REFUSAL,
  NO_TICKET_BODY,
  type HttpAcceptorOptions,
  type HttpHandshakeFailure,
  type HttpIdentity,
  type HttpSessionCookieOptions,
  type HttpMethod,
  type PreflightHandler,
  type ProtectedHandler,
  type ProtectOptions,
} from './httpOptions.js';
export { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES_BEFORE_AUTH } from './httpBody.js';

const NO_BODY: Buffer = Buffer.alloc(0);

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
  readonly #negotiation: HttpNegotiation;
  /** With Basic authentication (TLS only). */
  readonly #basic: BasicDeps | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  /** With TLS: the channel binding each accept step carries (httpTls.ts); the WebSocket route's too. */
  readonly channel: ChannelAcceptOptions;
  readonly #bodies: BodyAccounting;
  readonly #routes: ProtectedRoutes;
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
    this.#bodies = new BodyAccounting(
      positiveWhole('maxBodyBytesBeforeAuth', options.maxBodyBytesBeforeAuth, DEFAULT_MAX_BODY_BYTES_BEFORE_AUTH),
    );
    this.app = createUwsApp(this.#uws, options.tls);
    this.channel = channelAcceptOptions(options.tls);
    this.#negotiation = {
      authorizer: options.authorizer ?? ALLOW_ALL,
      reporter: this.#reporter,
      cookies: this.cookies,
      pool: this.#pool,
      channel: this.channel,
      logger: this.#logger,
    };
    if (options.basicAuth !== undefined && options.tls === undefined)
      throw new ConfigError('ERR_CONFIG', BASIC_NEEDS_TLS);
    this.#basic = options.basicAuth && { ...this.#negotiation, basic: options.basicAuth };
    this.#routes = new ProtectedRoutes(this.app, (res, req, allow) => {
      answerUnrouted(res, req, this.#logger, { status: 405, body: 'Method not allowed\n', headers: { Allow: allow } });
    });
    this.protect('/whoami', answerWhoami, { methods: ['get'] });
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
    this.app.any('/*', (res, req) => answerUnrouted(res, req, this.#logger, { status: 404, body: 'Not found\n' }));
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
   * Registers a route (uWS pattern: `/a/:id`, `/files/*`) that runs the Negotiate flow first
   * and then calls `handler` with the proven identity and the request, its body included (read
   * only once the client is authenticated; docs/http.md). Every method by default, or
   * `options.methods` (GET brings HEAD; the others get 405). The handler must end `res` (or
   * stream through `res.raw`); if it throws, the client gets a 500. ERR_CONFIG for a bad option
   * or a method of `pattern` already protected.
   */
  protect(pattern: string, handler: ProtectedHandler, options: ProtectOptions = {}): this {
    const route: Route = {
      handler,
      params: paramCount(pattern),
      maxBodyBytes: positiveWhole('maxBodyBytes', options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES),
      preflight: options.preflight,
    };
    const methods = routeMethods(options.methods, options.preflight !== undefined);
    this.#routes.add(pattern, methods, (res: HttpResponse, req: HttpRequest) => {
      // uWS: req dies when this function returns or awaits: readExchange copies what we need,
      // and its Reply attaches onAborted, before any await.
      this.#route(readExchange(res, req, route.params, this.cookies !== undefined), route);
    });
    return this;
  }

  /** Body bytes held right now, every request together (handlers' bodies included). */
  get bodyBytesBuffered(): number {
    return this.#bodies.buffered;
  }

  /**
   * Body bytes received before their request was authenticated, since start: only those uWS
   * read together with a header block that carried a token (docs/http.md).
   */
  get bodyBytesReceivedBeforeAuth(): number {
    return this.#bodies.receivedBeforeAuth;
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
      await settleWithin(this.#inFlight, graceMs);
      const app = this.app as TemplatedApp & { close?: () => void };
      // Runs onAborted of requests still open, so nothing writes to a closed response.
      if (typeof app.close === 'function') app.close();
    })();
    return this.#closing;
  }

  /**
   * One request to a protected route, in uWS's synchronous top. Everything that can be decided
   * without the pool is decided here, before the body is read: a client with no credential (or
   * a bad header) is answered at once and uWS discards its body unread.
   */
  #route(ex: Exchange, route: Route): void {
    if (refusedForFraming(ex.reply, ex.framing, ex.remoteAddress, this.#logger)) return;
    const limits = { maxBodyBytes: route.maxBodyBytes, maxBodyBytesBeforeAuth: this.#bodies.maxBytesBeforeAuth };
    const refuseBody = (why: BodyRefusal): void => answerBodyRefused(ex, why, limits, this.#logger);
    if (ex.contentLength !== undefined && ex.contentLength > route.maxBodyBytes) {
      refuseBody('tooLarge');
      return;
    }
    if (route.preflight !== undefined && isCorsPreflight(ex)) {
      const preflight = route.preflight;
      this.#track(ex, async () => {
        await preflight(ex.reply, ex.headers, { ...ex.request, body: NO_BODY });
      });
      return;
    }
    // The fresh credential wins: an Authorization header, when present, is processed and its
    // outcome stands (a success as its user, or its failure). The cookie only stands in for a
    // handshake on requests without one; otherwise a client holding another user's cookie
    // would be answered as that user whatever it just proved.
    const basic = this.#basic === undefined ? undefined : readBasic(ex, this.#basic, this.#reporter);
    if (basic?.kind === 'invalid') return;
    const parsed = basic ?? parseAuthorization(ex.authorization, this.maxTokenBytes);
    let invalidCookie = false;
    let identity: HttpIdentity | undefined;
    if (parsed.kind === 'none' && this.cookies !== undefined) {
      const fromCookie = identityFromCookie(this.cookies, ex.cookie, ex.remoteAddress, this.#logger, 'http');
      if (fromCookie.identity !== undefined)
        identity = { frontend: 'http', ...fromCookie.identity, remoteAddress: ex.remoteAddress, via: 'cookie' };
      invalidCookie = fromCookie.invalid;
    }
    if (identity === undefined && parsed.kind === 'none') {
      this.#challenge(ex, 401, CHALLENGE_BODY, invalidCookie);
      return;
    }
    if (parsed.kind === 'invalid') {
      this.#reporter.refused(attemptOf(ex), parsed.code, parsed.message);
      this.#refuse(ex, refusalForHeader(parsed), invalidCookie);
      return;
    }
    // A HEAD request's body (it has no meaning) is left to uWS, which discards it.
    const body = ex.reply.headOnly
      ? undefined
      : new BodyReader(ex.reply.raw, {
          maxBytes: route.maxBodyBytes,
          accounting: this.#bodies,
          authenticated: identity !== undefined,
          expectsBody: ex.expectsBody,
          onRefused: refuseBody,
        });
    if (body !== undefined) {
      ex.reply.setBeforeResponse(() => body.beforeResponse());
      ex.reply.onAborted(() => body.aborted());
    }
    this.#track(ex, async () => {
      try {
        if (identity !== undefined) await this.#runHandler(ex, route, identity, body);
        else if (parsed.kind === 'negotiate')
          await negotiateRequest(ex, parsed.token, invalidCookie, this.#negotiation, (proven) =>
            this.#runHandler(ex, route, proven, body),
          );
        else if (parsed.kind === 'basic' && this.#basic !== undefined)
          await basicRequest(ex, parsed, this.#clearCookie(invalidCookie), this.#basic, (proven) =>
            this.#runHandler(ex, route, proven, body),
          );
      } finally {
        body?.release();
      }
    });
  }

  /** Runs `work` for `ex`, answering 500 if it throws, and keeps it in flight until done. */
  #track(ex: Exchange, work: () => Promise<void>): void {
    const p = work().catch((err: unknown) => this.#internalError(ex, err));
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  /** Reads the rest of the body (the client is authenticated now), then runs the handler. */
  async #runHandler(ex: Exchange, route: Route, identity: HttpIdentity, body: BodyReader | undefined): Promise<void> {
    let bytes: Buffer = NO_BODY;
    if (body !== undefined) {
      body.authenticated();
      const read = await body.result;
      if (read.kind !== 'complete') return;
      bytes = read.body;
    }
    if (ex.reply.finished) return;
    try {
      await route.handler(identity, ex.reply, ex.headers, { ...ex.request, body: bytes });
    } catch (err) {
      this.#internalError(ex, err);
    }
  }

  #clearCookie(invalidCookie: boolean): string | undefined {
    return invalidCookie ? this.cookies?.clearCookieHeader() : undefined;
  }

  /** Sends `refusal` as the whole response; false when the client had gone. */
  #refuse(ex: Exchange, refusal: HttpRefusal, clearCookie: boolean): boolean {
    // A cookie we refused is useless to the client; tell it to drop it.
    return sendRefusal(ex, refusal, this.#clearCookie(clearCookie));
  }

  #challenge(ex: Exchange, status: number, body: string, invalidCookie: boolean): void {
    answerChallenge(ex, status, body, this.#clearCookie(invalidCookie));
  }

  #internalError(ex: Exchange, err: unknown): void {
    answerInternalError(ex, err, this.#logger);
  }
}
