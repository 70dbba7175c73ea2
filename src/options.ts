/**
 * NegotiateServer's options: the flat shape the server runs on (`ResolvedServerConfig`), and
 * `resolveServerOptions`, the one place that fills every default and validates the public,
 * nested, all-optional shape (`NegotiateServerOptions`, declared in serverOptions.ts and
 * re-exported here). Defaults and ranges themselves live in config.ts.
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
  type Limits,
  type ListenAddress,
} from './config.js';
import { DEFAULT_GREETING } from './acceptors/sspiProtocol.js';
import { MIN_KEY_BYTES } from './http/sessionCookie.js';
import { ConfigError } from './errors.js';
import { bool, checkKeys, int, isArray, optionalString, section } from './optionChecks.js';
import { fromPinoCompatible, silentLogger, type Logger, type PinoCompatibleLogger } from './logger.js';
import {
  ACCEPTOR_SLOTS,
  isRequiredFlag,
  REQUIRABLE_FLAGS,
  type AcceptorSlot,
  type ReplayCacheOption,
  type RequiredFlag,
} from './pool/credentials.js';
import {
  COOKIE_KEYS,
  CREDENTIAL_KEYS,
  GSS_SAMPLE_KEYS,
  HTTP_KEYS,
  LIMIT_KEYS,
  LISTENER_KEYS,
  SSPI_KEYS,
  TCP_KEYS,
  TOP_KEYS,
  WS_KEYS,
  type AdminOptions,
  type HttpEngine,
  type ListenerOptions,
  type NegotiateServerOptions,
} from './serverOptions.js';

export type {
  AdminOptions,
  CookieOptions,
  CredentialsOptions,
  GssSampleListenerOptions,
  HttpEngine,
  HttpOptions,
  LimitsOptions,
  ListenerOptions,
  NegotiateServerOptions,
  SspiListenerOptions,
  TcpOptions,
  TlsOptions,
  WebSocketOptions,
} from './serverOptions.js';
import { resolveBasicAuth, type ResolvedBasicAuth } from './basic/basicOptions.js';
import type { ChannelBindingPolicy } from './tls/channelBindings.js';
import type { TlsFiles } from './tls/TlsCertificate.js';
import { channelBindingPolicy, tlsFiles } from './tls/tlsOptions.js';
import { Authorizer } from './authorization/index.js';
import { isRedisUrl, redactRedisUrl } from './replay/redisUrl.js';
import { resolveSharedReplayCache, type ResolvedSharedReplayCacheOptions } from './replay/sharedReplayOptions.js';
import { isLocalNameMode, LOCAL_NAME_MODES_TEXT, type LocalNameMode } from './pool/localName.js';
import { handoffKind, type HandoffKind } from './pool/callDispatcher.js';

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
  /** `'memory'` only: the journal directory (undefined: none). */
  replayCacheJournal?: string | undefined;
  /** Set with a `redis://` replayCache: its options, defaults filled. */
  sharedReplayCache?: ResolvedSharedReplayCacheOptions | undefined;
  frontendPrincipals?: Partial<Record<AcceptorSlot, string>> | undefined;
  requireFlags: readonly RequiredFlag[];
  /** undefined: a tenth of maxContexts (defaultHandshakesPerAddress, applied by the server). */
  maxHandshakesPerAddress?: number | undefined;
  sspi: ListenAddress | undefined;
  gssSample: ListenAddress | undefined;
  gssSampleAllowUnauthenticated: boolean;
  http: ListenAddress | undefined;
  /** The HTTP listener's engine. */
  httpEngine: HttpEngine;
  /** WebSocket path on the HTTP listener, or undefined for none. */
  wsPath: string | undefined;
  onWsMessage: WsMessageHandler;
  /** Session cookie lifetime in seconds, or undefined for no cookie. */
  sessionCookieTtlSeconds: number | undefined;
  /** Empty: a random key per start. */
  sessionCookieKeys: Buffer[];
  sessionCookieSecure: boolean;
  allowUwsFallback: boolean;
  /** HTTPS on the HTTP listener (its WebSocket too), or undefined for plain HTTP. */
  httpTls: TlsFiles | undefined;
  channelBinding: ChannelBindingPolicy;
  /** Basic authentication over TLS (src/basic/basicOptions.ts), or undefined when off. */
  basicAuth: ResolvedBasicAuth | undefined;
  admin: ListenAddress | undefined;
  /**
   * The caller chose maxConnections (`limits.maxConnections`, `--max-connections`): caps that do
   * not fit the file-descriptor limit then refuse to start; otherwise the default is lowered to fit.
   */
  maxConnectionsFromUser: boolean;
  workers: number;
  poolHandoff: HandoffKind;
  greeting: NonNullable<SspiProtocolOptions['greeting']>;
  shutdownGraceMs: number;
  logger: Logger;
  /** The operator's rules and the application's hook, validated (the principals file read). */
  authorizer: Authorizer;
  localName: LocalNameMode;
  delegationDir: string | undefined;
  s4u2proxy: boolean;
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
  const httpTls = tlsFiles(http);
  const channelBinding = channelBindingPolicy(http?.channelBinding, httpTls);
  const replayCache = credentials.replayCache ?? 'default';
  if (typeof replayCache !== 'string' || !isReplayCacheOption(replayCache)) {
    throw new ConfigError(
      'ERR_CONFIG',
      `credentials.replayCache must be default, memory, none, file:PATH or redis://HOST:PORT, not ${JSON.stringify(typeof replayCache === 'string' ? redactRedisUrl(replayCache) : replayCache)}`,
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
    httpEngine: httpEngine(http?.engine, ws !== undefined),
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
    // A cookie sent back over plain HTTP would let an eavesdropper replay the session: TLS implies Secure.
    sessionCookieSecure:
      cookie?.secure === undefined ? httpTls !== undefined : bool('http.sessionCookie.secure', cookie.secure),
    allowUwsFallback: bool('http.allowUwsFallback', http?.allowUwsFallback),
    httpTls,
    channelBinding,
    basicAuth: resolveBasicAuth(http?.basicAuth, httpTls !== undefined),
    admin: options.admin && listener('admin', section('admin', options.admin, LISTENER_KEYS), undefined),
    workers: int('workers', options.workers, os.availableParallelism(), RANGES.workers),
    poolHandoff: handoffKind('poolHandoff', options.poolHandoff),
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
    authorizer: new Authorizer({ rules: options.authorization, authorize: options.authorize }),
    localName: localName(credentials.localName),
    delegationDir: optionalString('credentials.delegationDir', credentials.delegationDir),
    s4u2proxy: bool('credentials.s4u2proxy', credentials.s4u2proxy),
  };
  if (limits.maxHandshakesPerAddress !== undefined) {
    resolved.maxHandshakesPerAddress = int(
      'limits.maxHandshakesPerAddress',
      limits.maxHandshakesPerAddress,
      0,
      RANGES.maxHandshakesPerAddress,
    );
  }
  if (isRedisUrl(replayCache))
    resolved.sharedReplayCache = resolveSharedReplayCache(credentials.sharedReplayCache, replayCache);
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
  const journal = optionalString('credentials.replayCacheJournal', credentials.replayCacheJournal);
  if (journal !== undefined) resolved.replayCacheJournal = journal;
  return resolved;
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

function httpEngine(value: unknown, withWebSocket: boolean): HttpEngine {
  if (value === undefined) return 'uws';
  if (value !== 'uws' && value !== 'node')
    throw new ConfigError('ERR_CONFIG', `http.engine must be 'uws' or 'node', not ${JSON.stringify(value)}`);
  if (value === 'node' && withWebSocket) {
    throw new ConfigError(
      'ERR_CONFIG',
      "http.ws needs http.engine 'uws': WebSockets run on uWebSockets.js only " +
        '(CLI: drop --ws, or serve with --http-engine uws)',
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

function localName(value: unknown): LocalNameMode {
  if (value === undefined) return 'off';
  if (typeof value !== 'string' || !isLocalNameMode(value))
    throw new ConfigError(
      'ERR_CONFIG',
      `credentials.localName must be ${LOCAL_NAME_MODES_TEXT}, not ${JSON.stringify(value)}`,
    );
  return value;
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
