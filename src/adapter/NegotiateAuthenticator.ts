/**
 * The framework-neutral Negotiate adapter (docs/adapter.md): given a `node:http` or
 * `node:https` request, it runs RFC 4559 on the shared handshake core and answers with an
 * outcome (authenticated, challenge, refused) the caller turns into its own response. It owns
 * no server and no route: Express, Fastify, passport and the `node` HTTP engine are built on it.
 *
 * Same semantics as the uWS front end (src/acceptors/HttpAcceptor.ts), from the same modules:
 * the fresh credential wins over a session cookie, a refusal is a bare `Negotiate` challenge,
 * 503 when the pool is busy, 431 for an oversized token, the mutual token on the success.
 * Unlike uWS, node gives the request's socket, so with `ntlm: true` multi-leg handshakes are
 * bound to it (ConnectionContexts); without it they are refused. On a node:tls socket every
 * accept step is bound to the certificate that connection was served (tlsChannel.ts).
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_LIMITS } from '../config.js';
import { PoolError, type NegotiateErrorCode } from '../errors.js';
import { nextConnectionId } from '../connectionId.js';
import { formatWwwAuthenticate, parseAuthorization } from '../framing/negotiateHeader.js';
import {
  defaultHandshakesPerAddress,
  HandshakeReporter,
  HandshakesPerAddress,
  type HandshakeAttempt,
} from '../handshake/index.js';
import { identityFromCookie } from '../http/cookieIdentity.js';
import { positiveWhole, sessionCookiesFrom } from '../http/frontEndSetup.js';
import {
  CHALLENGE_BODY,
  challengeHeaders,
  refusalForAcceptError,
  refusalForHeader,
  type HttpRefusal,
} from '../http/negotiateRefusal.js';
import type { SessionCookies } from '../http/sessionCookie.js';
import { silentLogger, type Logger } from '../logger.js';
import { AuthPool, type AcceptStep } from '../pool/AuthPool.js';
import { acceptorSlotOf } from '../pool/credentials.js';
import { ConnectionContexts } from './ConnectionContexts.js';
import { channelBindingMode, TlsChannels, type ChannelAccept } from './tlsChannel.js';
import { Authorizer } from '../authorization/index.js';
import { basicAllowedOn, basicOutcome, withBasicChallenge, type AdapterBasic } from './adapterBasic.js';
import { isBasicScheme } from '../basic/basicHeader.js';
import {
  authorizedOutcome,
  type AdapterAuthorization,
  type HeldOutcome,
  type RefusedOutcome,
} from './adapterAuthorization.js';
import type {
  AdapterIdentity,
  ChannelBindingMode,
  NegotiateAuthenticatorOptions,
  NegotiateOutcome,
  OutcomeHeaders,
} from './types.js';

/** The 401 body when a multi-leg mechanism reached an authenticator without `ntlm`. */
export const ADAPTER_MULTI_LEG_REFUSAL =
  'This server does not complete multi-leg Negotiate mechanisms (NTLM, raw or inside SPNEGO) over HTTP: ' +
  'use Kerberos, or ask its operator to enable connection-bound NTLM.\n';

/** The 401 body of an NTLM handshake's middle leg: the token is in WWW-Authenticate. */
export const CONTINUE_BODY = 'Negotiate authentication continues: send the next leg on this connection\n';

/** A request being authenticated: what outlives the first await. */
interface Attempt {
  readonly started: number;
  readonly remoteAddress: string | undefined;
  readonly invalidCookie: boolean;
  connectionId: number;
}

/**
 * Events: 'session' (AdapterIdentity) after each completed handshake (not for requests
 * authenticated by cookie); 'handshakeFailed' (AdapterHandshakeFailure) after each refused or
 * failed one (not for the credential-less first request, which is the normal challenge).
 */
export class NegotiateAuthenticator extends EventEmitter {
  readonly pool: AuthPool;
  readonly ntlm: boolean;
  readonly maxTokenBytes: number;
  /** The channel-binding policy on TLS sockets (see ChannelBindingMode). */
  readonly channelBinding: ChannelBindingMode;
  /** Cookie sessions, when enabled. */
  readonly cookies: SessionCookies | undefined;
  readonly #ownsPool: boolean;
  readonly #logger: Logger;
  readonly #reporter: HandshakeReporter<'adapter'>;
  readonly #contexts: ConnectionContexts | undefined;
  readonly #channels: TlsChannels;
  readonly #authorization: AdapterAuthorization;
  /** With Basic authentication (TLS sockets only). */
  readonly #basic: AdapterBasic | undefined;
  #closed = false;

  /**
   * An authenticator on `options.pool` (required here; use create() to start a pool of its
   * own). Throws ConfigError (ERR_CONFIG) for bad options.
   */
  constructor(options: NegotiateAuthenticatorOptions & { pool: AuthPool }, ownership?: PoolOwnership) {
    super();
    this.pool = options.pool;
    this.#ownsPool = ownership?.pool === options.pool;
    this.#logger = options.logger ?? silentLogger;
    this.#reporter = new HandshakeReporter('adapter', this, this.#logger);
    this.ntlm = options.ntlm === true;
    this.maxTokenBytes = positiveWhole('maxTokenBytes', options.maxTokenBytes, DEFAULT_LIMITS.maxTokenBytes);
    this.channelBinding = channelBindingMode(options.channelBinding);
    this.#channels = new TlsChannels(this.channelBinding);
    const sessionCookie = options.sessionCookie === false ? undefined : options.sessionCookie;
    this.cookies = sessionCookiesFrom(sessionCookie, this.#logger, 'adapter');
    this.#authorization = {
      authorizer: options.authorizer ?? new Authorizer({ rules: options.authorization, authorize: options.authorize }),
      reporter: this.#reporter,
      cookies: this.cookies,
      pool: this.pool,
    };
    this.#basic = options.basicAuth && { ...this.#authorization, basic: options.basicAuth };
    this.#contexts = this.ntlm
      ? new ConnectionContexts({
          pool: this.pool,
          perAddress:
            options.handshakesPerAddress ??
            new HandshakesPerAddress(defaultHandshakesPerAddress(DEFAULT_LIMITS.maxContexts)),
          timeoutMs: positiveWhole('handshakeTimeoutMs', options.handshakeTimeoutMs, DEFAULT_LIMITS.handshakeTimeoutMs),
          logger: this.#logger,
        })
      : undefined;
  }

  /**
   * An authenticator on `options.pool`, or on a pool of its own started from
   * `options.credentials` (and `poolOptions`), which close() then closes.
   */
  static async create(options: NegotiateAuthenticatorOptions): Promise<NegotiateAuthenticator> {
    if (options.pool !== undefined) return new NegotiateAuthenticator({ ...options, pool: options.pool });
    const pool = await AuthPool.start({ ...options.poolOptions, credentials: options.credentials ?? {} });
    try {
      return new NegotiateAuthenticator({ ...options, pool }, new PoolOwnership(pool));
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  /** Half-done multi-leg handshakes holding a context between legs now (0 without `ntlm`). */
  get pendingHandshakes(): number {
    return this.#contexts?.pending ?? 0;
  }

  /**
   * Authenticates one request from its headers (Authorization, Cookie) and socket; never reads
   * or consumes its body. Never rejects for a client's doing: every refusal is an outcome
   * (authorization's included: `refused` with 403, or the hook's status, and the mutual token).
   * `res`: the request's response; a delegated credential kept for this request is removed when
   * it closes (without `res`: when the connection closes).
   */
  async authenticate(req: IncomingMessage, res?: ServerResponse): Promise<NegotiateOutcome> {
    const outcome = await this.#authenticate(req);
    if (outcome.kind !== 'authenticated' && outcome.status === 401 && this.#basic && basicAllowedOn(req.socket))
      outcome.headers = withBasicChallenge(outcome.headers, this.#basic.basic);
    if (outcome.kind === 'authenticated' && outcome.identity.delegatedCcache !== undefined) {
      const holder = outcome.holder;
      const release = (): void => void this.pool.delegatedCredentials?.releaseHolder(holder);
      if (res !== undefined) res.once('close', release);
      else req.socket.once('close', release);
    }
    if (outcome.kind !== 'authenticated') return outcome;
    // The holder stays inside: the caller's outcome is the public shape.
    return { kind: 'authenticated', identity: outcome.identity, headers: outcome.headers };
  }

  async #authenticate(req: IncomingMessage): Promise<HeldOutcome> {
    const started = performance.now();
    const socket = req.socket;
    const remoteAddress = socket.remoteAddress;
    if (this.#basic !== undefined && isBasicScheme(req.headers.authorization))
      return basicOutcome(req, this.#basic, (connectionId) =>
        this.#attempt({ started, remoteAddress, invalidCookie: false, connectionId }),
      );
    // node keeps the first of repeated Authorization headers (it discards duplicates).
    const parsed = parseAuthorization(req.headers.authorization, this.maxTokenBytes);
    let invalidCookie = false;
    // The fresh credential wins: the cookie only stands in for a handshake on requests without
    // an Authorization header (see HttpAcceptor).
    if (parsed.kind === 'none' && this.cookies !== undefined) {
      const fromCookie = identityFromCookie(this.cookies, req.headers.cookie, remoteAddress, this.#logger, 'adapter');
      if (fromCookie.identity !== undefined) {
        const identity: AdapterIdentity = {
          frontend: 'adapter',
          ...fromCookie.identity,
          remoteAddress,
          via: 'cookie',
          latencyMs: Math.round(performance.now() - started),
        };
        return { kind: 'authenticated', identity, headers: [], holder: 0 };
      }
      invalidCookie = fromCookie.invalid;
    }
    const at: Attempt = { started, remoteAddress, invalidCookie, connectionId: 0 };
    if (parsed.kind === 'none') {
      return {
        kind: 'challenge',
        status: 401,
        headers: this.#withCookieCleared(challengeHeaders(), at),
        body: CHALLENGE_BODY,
      };
    }
    if (parsed.kind === 'invalid') {
      at.connectionId = nextConnectionId();
      this.#reporter.refused(this.#attempt(at), parsed.code, parsed.message);
      return this.#refused(refusalForHeader(parsed), at);
    }
    if (this.#closed) {
      at.connectionId = nextConnectionId();
      return this.#failed(at, new PoolError('ERR_POOL_CLOSED', 'the Negotiate authenticator is closed'));
    }
    const channel = this.#channels.acceptOptions(socket);
    if ('code' in channel) {
      at.connectionId = nextConnectionId();
      this.#reporter.refused(this.#attempt(at), channel.code, channel.reason);
      const body = `Negotiate authentication failed (${channel.code})\n`;
      return this.#refused({ ...channel, status: 401, body, headers: challengeHeaders(), busy: false }, at);
    }
    return this.#contexts === undefined
      ? this.#singleLeg(at, parsed.token, channel)
      : this.#connectionBound(this.#contexts, at, socket, parsed.token, channel);
  }

  /**
   * Sends a `challenge` or `refused` outcome as the whole response (nothing if a response was
   * already started); for `authenticated`, adds its headers to `res` for the caller's own response.
   */
  apply(outcome: NegotiateOutcome, res: ServerResponse): void {
    if (outcome.kind === 'authenticated') {
      for (const [name, value] of outcome.headers) res.appendHeader(name, value);
      return;
    }
    if (res.headersSent || res.writableEnded) return;
    res.statusCode = outcome.status;
    for (const [name, value] of outcome.headers) res.appendHeader(name, value);
    res.setHeader('Content-Length', Buffer.byteLength(outcome.body));
    res.end(outcome.body);
  }

  /**
   * Refuses further handshakes (503) and frees every connection-bound context; closes the pool
   * only if create() started it. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#contexts?.endAll();
    if (this.#ownsPool) await this.pool.close();
  }

  /** Without `ntlm`: one context per request, freed as soon as the leg returns. */
  async #singleLeg(at: Attempt, token: Buffer, channel: ChannelAccept): Promise<HeldOutcome> {
    const id = nextConnectionId();
    at.connectionId = id;
    let step: AcceptStep;
    try {
      step = await this.pool.accept(id, token, { releaseAfter: true, slot: acceptorSlotOf('adapter'), ...channel });
    } catch (err) {
      // A task that timed out may be stopped before the worker's releaseAfter runs.
      this.pool.release(id);
      return this.#failed(at, err);
    }
    if (step.status === 'continue') {
      const code: NegotiateErrorCode = 'ERR_HTTP_MULTI_LEG_UNSUPPORTED';
      const reason = 'the mechanism needs another leg (NTLM), and this authenticator was not given ntlm: true';
      this.#reporter.refused(this.#attempt(at), code, reason);
      return this.#refused(
        { status: 401, code, reason, body: ADAPTER_MULTI_LEG_REFUSAL, headers: challengeHeaders(), busy: false },
        at,
      );
    }
    return this.#succeeded(at, step);
  }

  /** With `ntlm`: the context lives on the request's socket until the handshake ends or the socket closes. */
  async #connectionBound(
    contexts: ConnectionContexts,
    at: Attempt,
    socket: IncomingMessage['socket'],
    token: Buffer,
    channel: ChannelAccept,
  ): Promise<HeldOutcome> {
    const bound = contexts.begin(socket, token);
    if (bound === undefined) {
      at.connectionId = nextConnectionId();
      const code: NegotiateErrorCode = 'ERR_CONTEXT_BUSY';
      const reason = 'another leg of this connection’s handshake is still running (pipelined requests)';
      this.#reporter.refused(this.#attempt(at), code, reason);
      return this.#refused(
        { status: 401, code, reason, body: `${reason}\n`, headers: challengeHeaders(), busy: false },
        at,
      );
    }
    at.connectionId = bound.id;
    let step: AcceptStep;
    try {
      step = await this.pool.accept(bound.id, token, {
        // The socket closed while the leg waited: its 'close' found no context yet.
        abandoned: () => socket.destroyed,
        slot: acceptorSlotOf('adapter'),
        ...channel,
      });
    } catch (err) {
      contexts.end(socket, bound);
      return this.#failed(at, err);
    }
    if (step.status === 'continue') {
      try {
        contexts.hold(socket, bound, at.remoteAddress);
      } catch (err) {
        // The address holds its share of half-done handshakes: the NTLM CHALLENGE is never sent.
        return this.#failed(at, err);
      }
      const headers: OutcomeHeaders = [
        ['WWW-Authenticate', formatWwwAuthenticate(step.output)],
        ['Content-Type', 'text/plain'],
      ];
      return { kind: 'challenge', status: 401, headers, body: CONTINUE_BODY };
    }
    // Established: nothing on this connection continues it, so it goes now (as on uWS). Its
    // delegated credential, if kept, is held by the request from here (released by authenticate()).
    const holder = nextConnectionId();
    this.pool.delegatedCredentials?.transferHolder(bound.id, holder);
    contexts.end(socket, bound);
    at.connectionId = holder;
    return this.#succeeded(at, step);
  }

  /** Authorization (rules, then the hook), then the outcome; its holder keeps the delegated credential. */
  #succeeded(at: Attempt, step: Extract<AcceptStep, { status: 'complete' }>): Promise<HeldOutcome> {
    const how = {
      via: 'negotiate',
      output: step.output,
      holder: at.connectionId,
      remoteAddress: at.remoteAddress,
    } as const;
    return authorizedOutcome(step, how, () => this.#attempt(at), this.#authorization);
  }

  /** A failed accept, reported and answered as on uWS; an internal error (a bug) rejects. */
  #failed(at: Attempt, err: unknown): RefusedOutcome {
    const refusal = refusalForAcceptError(err);
    if (refusal === undefined) throw err;
    this.#reporter.failed(this.#attempt(at), err);
    return this.#refused(refusal, at);
  }

  #refused(refusal: HttpRefusal, at: Attempt): RefusedOutcome {
    const { status, code, reason, body } = refusal;
    // Busy leaves a refused cookie alone: the client may retry with it.
    const headers = refusal.busy ? [...refusal.headers] : this.#withCookieCleared([...refusal.headers], at);
    return { kind: 'refused', status, code, reason, headers, body };
  }

  /** `headers` plus a Set-Cookie that deletes a cookie we refused (useless to the client). */
  #withCookieCleared(headers: OutcomeHeaders, at: Attempt): OutcomeHeaders {
    if (at.invalidCookie && this.cookies !== undefined) headers.push(['Set-Cookie', this.cookies.clearCookieHeader()]);
    return headers;
  }

  #attempt(at: Attempt): HandshakeAttempt {
    return {
      connectionId: at.connectionId,
      remoteAddress: at.remoteAddress,
      latencyMs: Math.round(performance.now() - at.started),
    };
  }
}

/** create()'s word that the authenticator owns `pool` (closes it); not exported, so only create() says it. */
class PoolOwnership {
  readonly pool: AuthPool;
  constructor(pool: AuthPool) {
    this.pool = pool;
  }
}
