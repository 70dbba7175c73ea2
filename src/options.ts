/**
 * NegotiateServer's options: the public, nested, all-optional shape (`NegotiateServerOptions`),
 * the flat shape the server runs on (`ResolvedServerConfig`), and `resolveServerOptions`, the one
 * place that fills every default and validates. Defaults and ranges themselves live in config.ts.
 *
 * Listeners: only the ones named start (`tcp.sspi`, `tcp.gssSample`, `http`), at least one is
 * required; `admin` is not a front end. (The CLI's "all three unless one is named" is a CLI rule.)
 */
import os from 'node:os';
import type { SspiProtocolOptions } from './acceptors/sspiProtocol.js';
import type { WsMessageHandler } from './acceptors/WsMessageChannel.js';
import {
  DEFAULT_GSS_SAMPLE,
  DEFAULT_HOST,
  DEFAULT_HTTP,
  DEFAULT_LIMITS,
  DEFAULT_REPLAY_CACHE_SIZE,
  DEFAULT_SESSION_COOKIE_TTL_SECONDS,
  DEFAULT_SHUTDOWN_GRACE_MS,
  DEFAULT_SSPI,
  DEFAULT_WS_PATH,
  RANGES,
  WS_PATH_PATTERN,
  isReplayCacheOption,
  type IntRange,
  type Limits,
  type ListenAddress,
} from './config.js';
import { DEFAULT_GREETING } from './acceptors/sspiProtocol.js';
import { MIN_KEY_BYTES } from './http/sessionCookie.js';
import { ConfigError } from './errors.js';
import { fromPinoCompatible, silentLogger, type Logger, type PinoCompatibleLogger } from './logger.js';
import {
  ACCEPTOR_SLOTS,
  isRequiredFlag,
  REQUIRABLE_FLAGS,
  type AcceptorSlot,
  type ReplayCacheOption,
  type RequiredFlag,
} from './pool/credentials.js';

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
  /** Context flags every client must request. Default none. */
  requireFlags?: readonly RequiredFlag[];
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
  /** Mark the cookie `Secure` (clients connect over TLS). Default false. */
  secure?: boolean;
}

export interface HttpOptions extends ListenerOptions {
  /** A WebSocket route on this listener. Default: none. */
  ws?: WebSocketOptions;
  /** Signed session cookies after a handshake. Default: none. */
  sessionCookie?: CookieOptions;
  /** Accepted for compatibility; no effect (this uWebSockets.js build has no JavaScript emulation). Default false. */
  allowUwsFallback?: boolean;
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
  /** HTTP `Authorization: Negotiate` (RFC 4559) on uWebSockets.js. Default port 8080. */
  http?: HttpOptions;
  limits?: LimitsOptions;
  /** Admin listener: /metrics, /healthz, /readyz. Default: none. */
  admin?: AdminOptions;
  /** Worker threads running GSSAPI calls. Default `os.availableParallelism()`. */
  workers?: number;
  /** close()'s default time for handshakes in flight, ms. Default 5000. */
  shutdownGraceMs?: number;
  /** A pino instance, or anything with pino's `(fields, msg)` methods. Default: silent. */
  logger?: PinoCompatibleLogger;
}

/** The flat configuration the server runs on: every default filled. Internal (tests may build one). */
export interface ResolvedServerConfig extends Limits {
  keytab: string | undefined;
  principal: string | undefined;
  ntlm: boolean;
  ntlmUsers: string | undefined;
  replayCache: ReplayCacheOption;
  replayCacheSize: number;
  /** undefined: a quarter of replayCacheSize (the cache's own rule). */
  replayCachePrincipalQuota?: number | undefined;
  frontendPrincipals?: Partial<Record<AcceptorSlot, string>> | undefined;
  requireFlags: readonly RequiredFlag[];
  /** undefined: a tenth of maxContexts (defaultHandshakesPerAddress, applied by the server). */
  maxHandshakesPerAddress?: number | undefined;
  sspi: ListenAddress | undefined;
  gssSample: ListenAddress | undefined;
  gssSampleAllowUnauthenticated: boolean;
  http: ListenAddress | undefined;
  /** WebSocket path on the HTTP listener, or undefined for none. */
  wsPath: string | undefined;
  onWsMessage: WsMessageHandler;
  /** Session cookie lifetime in seconds, or undefined for no cookie. */
  sessionCookieTtlSeconds: number | undefined;
  /** Empty: a random key per start. */
  sessionCookieKeys: Buffer[];
  sessionCookieSecure: boolean;
  allowUwsFallback: boolean;
  admin: ListenAddress | undefined;
  /**
   * The caller chose maxConnections (`limits.maxConnections`, `--max-connections`): caps that do
   * not fit the file-descriptor limit then refuse to start; otherwise the default is lowered to fit.
   */
  maxConnectionsFromUser: boolean;
  workers: number;
  greeting: NonNullable<SspiProtocolOptions['greeting']>;
  shutdownGraceMs: number;
  logger: Logger;
  /** Tests only: the pool's worker module (AuthPoolOptions.workerFile). Never set by the resolver. */
  workerFile?: string | undefined;
}

const echo: WsMessageHandler = (_session, message, reply) => reply(message);

/** Fills every default of `options` and validates it; throws ConfigError (ERR_CONFIG) naming the option. */
export function resolveServerOptions(options: NegotiateServerOptions): ResolvedServerConfig {
  checkKeys('options', options, TOP_KEYS);
  const credentials = section('credentials', options.credentials, CREDENTIAL_KEYS);
  const tcp = section('tcp', options.tcp, TCP_KEYS);
  const limits = section('limits', options.limits, LIMIT_KEYS);
  const sspi = tcp.sspi === undefined ? undefined : section('tcp.sspi', tcp.sspi, SSPI_KEYS);
  const gssSample = tcp.gssSample === undefined ? undefined : section('tcp.gssSample', tcp.gssSample, GSS_SAMPLE_KEYS);
  const http = options.http === undefined ? undefined : section('http', options.http, HTTP_KEYS);
  if (!sspi && !gssSample && !http) {
    throw new ConfigError(
      'ERR_CONFIG',
      'no listener: name at least one of tcp.sspi, tcp.gssSample or http (e.g. { http: { port: 8080 } })',
    );
  }
  const ws = http?.ws === undefined ? undefined : section('http.ws', http.ws, WS_KEYS);
  const cookie =
    http?.sessionCookie === undefined ? undefined : section('http.sessionCookie', http.sessionCookie, COOKIE_KEYS);
  const replayCache = credentials.replayCache ?? 'default';
  if (typeof replayCache !== 'string' || !isReplayCacheOption(replayCache)) {
    throw new ConfigError(
      'ERR_CONFIG',
      `credentials.replayCache must be default, memory, none or file:PATH, not ${JSON.stringify(replayCache)}`,
    );
  }
  const resolved: ResolvedServerConfig = {
    keytab: optionalString('credentials.keytab', credentials.keytab),
    principal: optionalString('credentials.principal', credentials.principal),
    ntlm: bool('credentials.ntlm', credentials.ntlm),
    ntlmUsers: optionalString('credentials.ntlmUsers', credentials.ntlmUsers),
    replayCache,
    replayCacheSize: int(
      'credentials.replayCacheSize',
      credentials.replayCacheSize,
      DEFAULT_REPLAY_CACHE_SIZE,
      RANGES.replayCacheSize,
    ),
    requireFlags: requireFlags(credentials.requireFlags),
    sspi: sspi && listener('tcp.sspi', sspi, DEFAULT_SSPI),
    gssSample: gssSample && listener('tcp.gssSample', gssSample, DEFAULT_GSS_SAMPLE),
    gssSampleAllowUnauthenticated: bool('tcp.gssSample.allowUnauthenticated', gssSample?.allowUnauthenticated),
    http: http && listener('http', http, DEFAULT_HTTP),
    wsPath: ws && wsPath(ws.path),
    onWsMessage: ws?.onMessage ?? echo,
    sessionCookieTtlSeconds:
      cookie &&
      int(
        'http.sessionCookie.ttlSeconds',
        cookie.ttlSeconds,
        DEFAULT_SESSION_COOKIE_TTL_SECONDS,
        RANGES.sessionCookieTtlSeconds,
      ),
    sessionCookieKeys: cookieKeys(cookie?.keys),
    sessionCookieSecure: bool('http.sessionCookie.secure', cookie?.secure),
    allowUwsFallback: bool('http.allowUwsFallback', http?.allowUwsFallback),
    admin: options.admin && listener('admin', section('admin', options.admin, LISTENER_KEYS), undefined),
    workers: int('workers', options.workers, os.availableParallelism(), RANGES.workers),
    maxQueue: int('limits.maxQueue', limits.maxQueue, DEFAULT_LIMITS.maxQueue, RANGES.maxQueue),
    taskTimeoutMs: int(
      'limits.taskTimeoutMs',
      limits.taskTimeoutMs,
      DEFAULT_LIMITS.taskTimeoutMs,
      RANGES.taskTimeoutMs,
    ),
    maxContexts: int('limits.maxContexts', limits.maxContexts, DEFAULT_LIMITS.maxContexts, RANGES.maxContexts),
    maxTokenBytes: int(
      'limits.maxTokenBytes',
      limits.maxTokenBytes,
      DEFAULT_LIMITS.maxTokenBytes,
      RANGES.maxTokenBytes,
    ),
    handshakeTimeoutMs: int(
      'limits.handshakeTimeoutMs',
      limits.handshakeTimeoutMs,
      DEFAULT_LIMITS.handshakeTimeoutMs,
      RANGES.handshakeTimeoutMs,
    ),
    idleTimeoutMs: int(
      'limits.idleTimeoutMs',
      limits.idleTimeoutMs,
      DEFAULT_LIMITS.idleTimeoutMs,
      RANGES.idleTimeoutMs,
    ),
    maxConnections: int(
      'limits.maxConnections',
      limits.maxConnections,
      DEFAULT_LIMITS.maxConnections,
      RANGES.maxConnections,
    ),
    maxConnectionsFromUser: limits.maxConnections !== undefined,
    greeting: greeting(sspi?.greeting),
    shutdownGraceMs: int('shutdownGraceMs', options.shutdownGraceMs, DEFAULT_SHUTDOWN_GRACE_MS, RANGES.shutdownGraceMs),
    logger: options.logger === undefined ? silentLogger : fromPinoCompatible(pinoCompatible(options.logger)),
  };
  if (limits.maxHandshakesPerAddress !== undefined) {
    resolved.maxHandshakesPerAddress = int(
      'limits.maxHandshakesPerAddress',
      limits.maxHandshakesPerAddress,
      0,
      RANGES.maxHandshakesPerAddress,
    );
  }
  if (credentials.frontendPrincipals !== undefined)
    resolved.frontendPrincipals = frontendPrincipals(credentials.frontendPrincipals);
  if (credentials.replayCachePrincipalQuota !== undefined) {
    resolved.replayCachePrincipalQuota = int(
      'credentials.replayCachePrincipalQuota',
      credentials.replayCachePrincipalQuota,
      0,
      RANGES.replayCachePrincipalQuota,
    );
  }
  return resolved;
}

// The keys each level accepts: a misspelt or old-style (flat) option is an error, not ignored.
// Records over keyof, so the compiler says when an option is added to a type and not here.
const TOP_KEYS: Record<keyof NegotiateServerOptions, true> = {
  credentials: true,
  tcp: true,
  http: true,
  limits: true,
  admin: true,
  workers: true,
  shutdownGraceMs: true,
  logger: true,
};
const CREDENTIAL_KEYS: Record<keyof CredentialsOptions, true> = {
  keytab: true,
  principal: true,
  frontendPrincipals: true,
  ntlm: true,
  ntlmUsers: true,
  replayCache: true,
  replayCacheSize: true,
  replayCachePrincipalQuota: true,
  requireFlags: true,
};
const TCP_KEYS: Record<keyof TcpOptions, true> = { sspi: true, gssSample: true };
const LISTENER_KEYS: Record<keyof ListenerOptions, true> = { host: true, port: true };
const SSPI_KEYS: Record<keyof SspiListenerOptions, true> = { ...LISTENER_KEYS, greeting: true };
const GSS_SAMPLE_KEYS: Record<keyof GssSampleListenerOptions, true> = { ...LISTENER_KEYS, allowUnauthenticated: true };
const HTTP_KEYS: Record<keyof HttpOptions, true> = {
  ...LISTENER_KEYS,
  ws: true,
  sessionCookie: true,
  allowUwsFallback: true,
};
const WS_KEYS: Record<keyof WebSocketOptions, true> = { path: true, onMessage: true };
const COOKIE_KEYS: Record<keyof CookieOptions, true> = { ttlSeconds: true, keys: true, secure: true };
const LIMIT_KEYS: Record<keyof LimitsOptions, true> = {
  maxHandshakesPerAddress: true,
  maxQueue: true,
  taskTimeoutMs: true,
  maxContexts: true,
  maxTokenBytes: true,
  handshakeTimeoutMs: true,
  idleTimeoutMs: true,
  maxConnections: true,
};

function checkKeys(path: string, value: object, known: Record<string, true>): void {
  for (const key of Object.keys(value)) {
    if (!Object.prototype.hasOwnProperty.call(known, key)) {
      throw new ConfigError(
        'ERR_CONFIG',
        `unknown option ${path === 'options' ? key : `${path}.${key}`}; expected one of ` +
          `${Object.keys(known).join(', ')}`,
      );
    }
  }
}

/** A nested options object (or {} when absent), checked to be an object with known keys. */
function section<T extends object>(path: string, value: T | undefined, known: Record<keyof T, true>): T | Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('ERR_CONFIG', `${path} must be an object, not ${JSON.stringify(value)}`);
  }
  checkKeys(path, value, known);
  return value;
}

function int(path: string, value: unknown, dflt: number, range: IntRange): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw new ConfigError(
      'ERR_CONFIG',
      `${path} must be a whole number between ${range.min} and ${range.max}, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function bool(path: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw new ConfigError('ERR_CONFIG', `${path} must be true or false, not ${JSON.stringify(value)}`);
  return value;
}

function optionalString(path: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new ConfigError('ERR_CONFIG', `${path} must be a non-empty string, not ${JSON.stringify(value)}`);
  return value;
}

function listener(
  path: string,
  value: ListenerOptions | Partial<AdminOptions>,
  dflt: ListenAddress | undefined,
): ListenAddress {
  const host = optionalString(`${path}.host`, value.host) ?? DEFAULT_HOST;
  if (value.port === undefined && dflt === undefined) throw new ConfigError('ERR_CONFIG', `${path}.port is required`);
  return { host, port: int(`${path}.port`, value.port, dflt?.port ?? 0, RANGES.port) };
}

function wsPath(value: unknown): string {
  if (value === undefined) return DEFAULT_WS_PATH;
  if (typeof value !== 'string' || !WS_PATH_PATTERN.test(value)) {
    throw new ConfigError(
      'ERR_CONFIG',
      `http.ws.path must be an absolute path such as /ws, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function frontendPrincipals(value: Partial<Record<AcceptorSlot, string>>): Partial<Record<AcceptorSlot, string>> {
  const known: Record<AcceptorSlot, true> = { sspi: true, 'gss-sample': true, http: true };
  section('credentials.frontendPrincipals', value, known);
  const out: Partial<Record<AcceptorSlot, string>> = {};
  for (const slot of ACCEPTOR_SLOTS) {
    const name = optionalString(`credentials.frontendPrincipals.${slot}`, value[slot]);
    if (name !== undefined) out[slot] = name;
  }
  return out;
}

/**
 * Array.isArray for a value whose declared type is already an array: it keeps that element type
 * where Array.isArray would narrow to `any[]`, and still refuses a JavaScript caller's non-array.
 */
function isArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

function cookieKeys(value: readonly Buffer[] | undefined): Buffer[] {
  if (value === undefined) return [];
  if (!isArray(value) || value.some((k) => !Buffer.isBuffer(k) || k.length < MIN_KEY_BYTES)) {
    throw new ConfigError(
      'ERR_CONFIG',
      `http.sessionCookie.keys must be Buffers of at least ${MIN_KEY_BYTES} random bytes each (e.g. ` +
        `crypto.randomBytes(32))`,
    );
  }
  return [...value];
}

function requireFlags(value: readonly RequiredFlag[] | undefined): readonly RequiredFlag[] {
  if (value === undefined) return [];
  if (!isArray(value))
    throw new ConfigError(
      'ERR_CONFIG',
      `credentials.requireFlags must be an array of ${Object.keys(REQUIRABLE_FLAGS).join(', ')}`,
    );
  for (const f of value) {
    if (typeof f !== 'string' || !isRequiredFlag(f)) {
      throw new ConfigError(
        'ERR_CONFIG',
        `credentials.requireFlags: unknown flag ${JSON.stringify(f)}; expected ` +
          `${Object.keys(REQUIRABLE_FLAGS).join(', ')}`,
      );
    }
  }
  return [...new Set(value)];
}

function greeting(value: SspiProtocolOptions['greeting']): ResolvedServerConfig['greeting'] {
  if (value === undefined) return DEFAULT_GREETING;
  if (typeof value === 'string' || typeof value === 'function' || value instanceof Uint8Array) return value;
  throw new ConfigError('ERR_CONFIG', 'tcp.sspi.greeting must be a string, bytes or a function of the session');
}

function pinoCompatible(value: PinoCompatibleLogger): PinoCompatibleLogger {
  const methods = ['debug', 'info', 'warn', 'error'] as const;
  if (typeof value !== 'object' || value === null || methods.some((m) => typeof value[m] !== 'function')) {
    throw new ConfigError(
      'ERR_CONFIG',
      "logger must have pino's debug, info, warn and error methods (fields first, then the message)",
    );
  }
  return value;
}
