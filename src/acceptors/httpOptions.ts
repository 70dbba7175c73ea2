/**
 * The HTTP front end's public shapes: its options, the identity a protected handler gets, and
 * the refusal bodies clients read.
 */
import type { Authorizer } from '../authorization/index.js';
import type { BasicAuth } from '../basic/BasicAuth.js';
import type { HandshakeFailure, ProvenIdentity } from '../handshake/index.js';
import type { Logger } from '../logger.js';
import type { AuthPool } from '../pool/AuthPool.js';
import type { HttpSessionCookieOptions } from '../http/frontEndSetup.js';
import type { HttpHeaders, HttpReply, HttpRequestInfo } from './HttpReply.js';
import type { HttpTlsOptions } from './httpTls.js';

export type { HttpSessionCookieOptions } from '../http/frontEndSetup.js';
export { CHALLENGE_BODY, NO_TICKET_BODY } from '../http/negotiateRefusal.js';

export interface HttpAcceptorOptions {
  pool: AuthPool;
  logger?: Logger | undefined;
  /** Largest decoded Negotiate token accepted, bytes; checked on the base64 text before decoding. Default 65536. */
  maxTokenBytes?: number | undefined;
  /** Cookie sessions after a successful handshake; undefined: none (every request negotiates). */
  sessionCookie?: HttpSessionCookieOptions | undefined;
  /** Run on uWS's slow JavaScript emulation (with a warning) instead of refusing to start. */
  allowUwsFallback?: boolean | undefined;
  /**
   * Most simultaneous connections on the listener, WebSockets included; at the cap new
   * connections are refused until some close (src/http/ConnectionGate.ts: counted every
   * 100 ms, Linux only). Default 10,000.
   */
  maxConnections?: number | undefined;
  /**
   * HTTPS (uWS SSLApp) with this certificate, and channel binding to it (Extended Protection).
   * Default: plain HTTP. The certificate is read once: a new one takes a new acceptor.
   */
  tls?: HttpTlsOptions | undefined;
  /**
   * Most request-body bytes held, all requests together, for requests whose handshake is
   * still running (only what uWS read with their header block: reading then pauses until the
   * client is authenticated). A request that would go beyond gets 503 and its connection
   * closed. Default 8 MiB.
   */
  maxBodyBytesBeforeAuth?: number | undefined;
  /**
   * Authorization after each completed handshake, before the handler (src/authorization/):
   * refused clients get 403 (or the hook's status) with the mutual token. Default: everyone
   * authenticated is let in.
   */
  authorizer?: Authorizer | undefined;
  /**
   * Also accept `Authorization: Basic` (a password checked with the KDC, src/basic/), and name
   * it in every 401 after Negotiate. Refused (ERR_CONFIG) without `tls`. Default: off.
   */
  basicAuth?: BasicAuth | undefined;
}

/** The methods `protect()` registers by name (lowercase, as uWS reports them). */
export const HTTP_METHODS = ['get', 'head', 'post', 'put', 'delete', 'patch', 'options'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Options of one protected route. */
export interface ProtectOptions {
  /**
   * The methods the route answers; default every method. Listing `get` adds `head` (the same
   * handler; the reply sends its headers without the body). Other methods on the pattern get
   * 405 with `Allow`.
   */
  methods?: readonly HttpMethod[] | undefined;
  /**
   * Largest request body, bytes (after chunked decoding); a larger one gets 413 and the
   * connection closed. Default 1 MiB.
   */
  maxBodyBytes?: number | undefined;
  /**
   * Answers CORS preflights (OPTIONS with `Origin` and `Access-Control-Request-Method`)
   * without authentication: browsers never send credentials on a preflight. Without it a
   * preflight is challenged like any request (401). Other OPTIONS requests are authenticated.
   */
  preflight?: PreflightHandler | undefined;
}

/** Answers an unauthenticated CORS preflight; the request has no body. */
export type PreflightHandler = (res: HttpReply, headers: HttpHeaders, request: HttpRequestInfo) => void | Promise<void>;

/** The authenticated client of one HTTP request. */
export interface HttpIdentity extends ProvenIdentity {
  readonly frontend: 'http';
  readonly remoteAddress: string | undefined;
  /** 'negotiate': the handshake's latency, from the request's arrival, ms. */
  readonly latencyMs?: number;
  /** Negotiate: when the context (ticket) expires; cookie: when the cookie expires. ms since the epoch, or null. */
  readonly expiresAt: number | null;
  /**
   * 'negotiate': this request carried a handshake; 'basic': a password (Basic over TLS, checked
   * with the KDC); 'cookie': a session cookie from an earlier one.
   */
  readonly via: 'negotiate' | 'basic' | 'cookie';
}

/**
 * A refused or failed HTTP handshake (the HandshakeFailure of this front end). Its
 * `connectionId` names the request's handshake: uWS gives no identity for the connection.
 */
export type HttpHandshakeFailure = HandshakeFailure<'http'>;

export type ProtectedHandler = (
  identity: HttpIdentity,
  res: HttpReply,
  headers: HttpHeaders,
  request: HttpRequestInfo,
) => void | Promise<void>;

/** The 401 body for a multi-leg mechanism, which this front end cannot bind to a connection. */
export const MULTI_LEG_REFUSAL =
  'This server cannot complete a multi-leg Negotiate mechanism (NTLM, raw or inside SPNEGO) over HTTP: ' +
  'each leg must arrive on the same TCP connection, and this HTTP front end cannot bind a security context to one. ' +
  'Use Kerberos here, or the WebSocket or TCP front ends, which support NTLM.\n';
