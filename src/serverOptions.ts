/**
 * NegotiateServer's public options: the nested, all-optional shape callers pass to
 * `NegotiateServer.start` (`NegotiateServerOptions` and its sections), and the keys each level
 * accepts. Resolving and validating them is options.ts's job; defaults and ranges live in config.ts.
 */
import type { SspiProtocolOptions } from './acceptors/sspiProtocol.js';
import type { WsMessageHandler } from './acceptors/WsMessageChannel.js';
import type { Limits } from './config.js';
import type { PinoCompatibleLogger } from './logger.js';
import type { HandoffKind } from './pool/callDispatcher.js';
import type { AuthorizationRules, AuthorizeHook } from './authorization/index.js';
import type { AcceptorSlot, ReplayCacheOption, RequiredFlag } from './pool/credentials.js';
import type { LocalNameMode } from './pool/localName.js';
import type { SharedReplayCacheOptions } from './replay/sharedReplayOptions.js';
import type { ChannelBindingPolicy } from './tls/channelBindings.js';
import type { BasicAuthOptions } from './basic/basicOptions.js';

/** A listener: `host` defaults to 127.0.0.1; `port` 0 picks a free port. */
export interface ListenerOptions {
  host?: string;
  port?: number;
}

export interface CredentialsOptions {
  /** Service keytab. Default: `KRB5_KTNAME`, else MIT's default (`/etc/krb5.keytab`). */
  keytab?: string;
  /** Accept only this principal (`HTTP/host@REALM` or `HTTP@host`). Default: any key in the keytab. */
  principal?: string;
  /** A principal per front end, over `principal` (`http` covers its WebSocket). Default: none. */
  frontendPrincipals?: Partial<Record<AcceptorSlot, string>>;
  /** Also accept NTLM, raw and through SPNEGO. Default false (NTLM is relayable). */
  ntlm?: boolean;
  /** gss-ntlmssp users file, exported as `NTLM_USER_FILE` for the process. Default: the inherited variable. */
  ntlmUsers?: string;
  /** `'default'` (MIT's file cache), `'memory'`, `'none'` (replays accepted) or `'file:PATH'`. Default `'default'`. */
  replayCache?: ReplayCacheOption;
  /** `'memory'` only: most authenticators held. Default 8,000,000. */
  replayCacheSize?: number;
  /** `'memory'` only: most authenticators one client principal may hold. Default: a quarter of `replayCacheSize`. */
  replayCachePrincipalQuota?: number;
  /**
   * `'memory'` only: a directory every remembered authenticator is also written to and read back
   * from at start, so a restart forgets no replay (owned by the service user, not writable by
   * group or others; one process at a time). Default: none.
   */
  replayCacheJournal?: string;
  /** With a `redis://` or `rediss://` replayCache: prefix, timeoutMs, fallback, maxPending (docs/operations.md). */
  sharedReplayCache?: SharedReplayCacheOptions;
  /** Context flags every client must request. Default none. */
  requireFlags?: readonly RequiredFlag[];
  /**
   * The local user name on each identity (`localName`): `gss` maps with krb5.conf's
   * `auth_to_local` rules (gss_localname), `strip-realm` drops the realm of the server's own
   * realm's principals. Default `off`.
   */
  localName?: LocalNameMode;
  /**
   * Keep clients' delegated Kerberos credentials as FILE ccaches here (mode 0600, one per
   * principal; `delegatedCcache` on the identity): the directory must exist, be the server's own
   * and not writable by others. Default: none kept (docs/after-authentication.md).
   */
  delegationDir?: string;
  /**
   * S4U2Proxy from the client's own ticket (mod_auth_gssapi's GssapiUseS4U2Proxy): a client that
   * forwarded no TGT leaves a proxy credential in `delegationDir` (`delegation: 'constrained'`).
   * Needs `delegationDir`; not with `ntlm`. Default false (docs/after-authentication.md).
   */
  s4u2proxy?: boolean;
}

export interface SspiListenerOptions extends ListenerOptions {
  /**
   * Sealed to the client after the handshake: text, bytes, or a function of the session. Default `DEFAULT_GREETING`.
   */
  greeting?: SspiProtocolOptions['greeting'];
}

export interface GssSampleListenerOptions extends ListenerOptions {
  /**
   * Serve sessions that open without a security context (MIT gss-client's `-na`), closed at the
   * handshake deadline. Default false: refused (ERR_UNAUTHENTICATED_REFUSED).
   */
  allowUnauthenticated?: boolean;
}

export interface TcpOptions {
  /** Microsoft SSPI-sample framing. Default port 2000. */
  sspi?: SspiListenerOptions;
  /** MIT gss-sample framing. Default port 4444. */
  gssSample?: GssSampleListenerOptions;
}

export interface WebSocketOptions {
  /** Default `/ws`. */
  path?: string;
  /** Application messages after the handshake. Default: echo each message back (a demo). */
  onMessage?: WsMessageHandler;
}

export interface CookieOptions {
  /** Lifetime in seconds, at most 30 days; never beyond the ticket's end. Default 3600. */
  ttlSeconds?: number;
  /** HMAC keys, at least 32 bytes each; the first signs, all verify. Default: a random key per start. */
  keys?: readonly Buffer[];
  /** Mark the cookie `Secure` (clients connect over TLS). Default: true with `http.tls`, else false. */
  secure?: boolean;
}

/** The HTTP listener's engine: uWebSockets.js, or node:http through the adapter. */
export type HttpEngine = 'uws' | 'node';

/**
 * HTTPS: PEM files, checked at start (ERR_TLS_CERTIFICATE). NegotiateServer.recheckTlsCertificate
 * (SIGHUP) serves a new one at once on engine `'node'`; on `'uws'` a new certificate takes a restart.
 */
export interface TlsOptions {
  /** The server's certificate, then any intermediates. */
  certFile: string;
  /** Its private key, unencrypted. */
  keyFile: string;
}

export interface HttpOptions extends ListenerOptions {
  /**
   * `'uws'` (uWebSockets.js) or `'node'` (node:http through the adapter: no WebSockets, and with
   * `credentials.ntlm` connection-bound NTLM over HTTP). Default `'uws'`.
   */
  engine?: HttpEngine;
  /** A WebSocket route on this listener (engine `'uws'` only). Default: none. */
  ws?: WebSocketOptions;
  /** Signed session cookies after a handshake. Default: none. */
  sessionCookie?: CookieOptions;
  /** Accepted for compatibility; no effect (this uWebSockets.js build has no JavaScript emulation). Default false. */
  allowUwsFallback?: boolean;
  /** HTTPS (and WSS) on this listener. Default: plain HTTP. */
  tls?: TlsOptions;
  /**
   * Channel binding to the TLS certificate (Extended Protection, RFC 5929 tls-server-end-point):
   * `off`, `when-supported` (a client bound to another certificate is refused, one that sent no
   * binding is not) or `required` (needs `tls`). Default `when-supported`.
   */
  channelBinding?: ChannelBindingPolicy;
  /**
   * Also accept a password (`Authorization: Basic`), checked with the KDC and its reply verified
   * with the service key; every 401 then names Basic after Negotiate. `true` or `{ realm }`
   * (default realm: the service's). Needs `tls`. Default: off (docs/http.md).
   */
  basicAuth?: boolean | BasicAuthOptions;
}

export interface AdminOptions {
  /** Default 127.0.0.1. */
  host?: string;
  port: number;
}

/** Each limit defaults to DEFAULT_LIMITS. */
export interface LimitsOptions extends Partial<Limits> {
  /**
   * Handshakes holding a context between legs (NTLM) one remote address may have at once, over
   * sspi, gss-sample and WebSocket. Default: a tenth of maxContexts.
   */
  maxHandshakesPerAddress?: number;
}

/** `NegotiateServer.start(options)`. Every field is optional; defaults in docs/api.md. */
export interface NegotiateServerOptions {
  credentials?: CredentialsOptions;
  tcp?: TcpOptions;
  /** HTTP `Authorization: Negotiate` (RFC 4559) on uWebSockets.js (or node:http: `engine`). Default port 8080. */
  http?: HttpOptions;
  limits?: LimitsOptions;
  /** Admin listener: /metrics, /healthz, /readyz. Default: none. */
  admin?: AdminOptions;
  /** Worker threads running GSSAPI calls. Default `os.availableParallelism()`. */
  workers?: number;
  /**
   * How calls reach the worker threads: 'native' (workers parked on the addon's queue) or
   * 'piscina' (a Piscina task per batch): docs/performance.md. Default 'native'.
   */
  poolHandoff?: HandoffKind;
  /** close()'s default time for handshakes in flight, ms. Default 5000. */
  shutdownGraceMs?: number;
  /** A pino instance, or anything with pino's `(fields, msg)` methods. Default: silent. */
  logger?: PinoCompatibleLogger;
  /**
   * The operator's authorization rules, checked after every completed handshake on every front
   * end, before any application code (docs/after-authentication.md). Default: none.
   */
  authorization?: AuthorizationRules;
  /**
   * The application's authorize hook, awaited after the rules let a client in: `true`,
   * `false` (403), `{ status, reason }` or `{ extra }` (merged as `identity.extra`). Default: none.
   */
  authorize?: AuthorizeHook;
}

// The keys each level accepts: a misspelt or old-style (flat) option is an error, not ignored.
// Records over keyof, so the compiler says when an option is added to a type and not here.
export const TOP_KEYS: Record<keyof NegotiateServerOptions, true> = {
  credentials: true,
  tcp: true,
  http: true,
  limits: true,
  admin: true,
  workers: true,
  poolHandoff: true,
  shutdownGraceMs: true,
  logger: true,
  authorization: true,
  authorize: true,
};
export const CREDENTIAL_KEYS: Record<keyof CredentialsOptions, true> = {
  keytab: true,
  principal: true,
  frontendPrincipals: true,
  ntlm: true,
  ntlmUsers: true,
  replayCache: true,
  replayCacheSize: true,
  replayCachePrincipalQuota: true,
  replayCacheJournal: true,
  sharedReplayCache: true,
  requireFlags: true,
  localName: true,
  delegationDir: true,
  s4u2proxy: true,
};
export const TCP_KEYS: Record<keyof TcpOptions, true> = { sspi: true, gssSample: true };
export const LISTENER_KEYS: Record<keyof ListenerOptions, true> = { host: true, port: true };
export const SSPI_KEYS: Record<keyof SspiListenerOptions, true> = { ...LISTENER_KEYS, greeting: true };
export const GSS_SAMPLE_KEYS: Record<keyof GssSampleListenerOptions, true> = {
  ...LISTENER_KEYS,
  allowUnauthenticated: true,
};
export const HTTP_KEYS: Record<keyof HttpOptions, true> = {
  ...LISTENER_KEYS,
  engine: true,
  ws: true,
  sessionCookie: true,
  allowUwsFallback: true,
  tls: true,
  channelBinding: true,
  basicAuth: true,
};
export const TLS_KEYS: Record<keyof TlsOptions, true> = { certFile: true, keyFile: true };
export const WS_KEYS: Record<keyof WebSocketOptions, true> = { path: true, onMessage: true };
export const COOKIE_KEYS: Record<keyof CookieOptions, true> = { ttlSeconds: true, keys: true, secure: true };
export const LIMIT_KEYS: Record<keyof LimitsOptions, true> = {
  maxHandshakesPerAddress: true,
  maxQueue: true,
  taskTimeoutMs: true,
  maxContexts: true,
  maxTokenBytes: true,
  handshakeTimeoutMs: true,
  idleTimeoutMs: true,
  maxConnections: true,
};
