/**
 * The HTTP front end's public shapes: its options, the identity a protected handler gets, and
 * the refusal bodies clients read.
 */
import type { HandshakeFailure, ProvenIdentity } from '../handshake/index.js';
import type { Logger } from '../logger.js';
import type { AuthPool } from '../pool/AuthPool.js';
import type { HttpHeaders, HttpReply, HttpRequestInfo } from './HttpReply.js';

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
  /**
   * Most simultaneous connections on the listener, WebSockets included; at the cap new
   * connections are refused until some close (src/http/ConnectionGate.ts: counted every
   * 100 ms, Linux only). Default 10,000.
   */
  maxConnections?: number | undefined;
  /**
   * Most request-body bytes held, all requests together, for requests whose handshake is
   * still running (only what uWS read with their header block: reading then pauses until the
   * client is authenticated). A request that would go beyond gets 503 and its connection
   * closed. Default 8 MiB.
   */
  maxBodyBytesBeforeAuth?: number | undefined;
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
  /** 'negotiate': this request carried a handshake; 'cookie': a session cookie from an earlier one. */
  readonly via: 'negotiate' | 'cookie';
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

/** Response bodies for refusals: short, plain text, never echoing the client's credentials. */
export const CHALLENGE_BODY = 'Negotiate authentication required\n';
export const MULTI_LEG_REFUSAL =
  'This server cannot complete a multi-leg Negotiate mechanism (NTLM, raw or inside SPNEGO) over HTTP: ' +
  'each leg must arrive on the same TCP connection, and this HTTP front end cannot bind a security context to one. ' +
  'Use Kerberos here, or the WebSocket or TCP front ends, which support NTLM.\n';

/** The 401 body when the client had no Kerberos ticket (the "connected by IP address" trap). */
export const NO_TICKET_BODY =
  'Negotiate authentication failed (ERR_GSS_NO_KERBEROS_TOKEN): your client sent no Kerberos ticket for this ' +
  'service. It could not get one for the host name in the URL: use the host name the service principal names ' +
  '(HTTP/<that name>), not an IP address or an alias, and check that you have a ticket-granting ticket (klist).\n';
