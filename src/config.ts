/**
 * The `serve` configuration: typed options, defaults, and validation with precise messages.
 */
import { ConfigError } from './errors.js';
import type { LogLevel } from './logger.js';
import { isRequiredFlag, REQUIRABLE_FLAGS, type AcceptorSlot, type ReplayCacheOption, type RequiredFlag } from './pool/credentials.js';

/** A listener address, from `HOST:PORT` (IPv6 as `[::1]:PORT`). */
export interface ListenAddress {
  host: string;
  port: number;
}

export interface ServeConfig {
  keytab: string | undefined;
  principal: string | undefined;
  ntlm: boolean;
  /** gss-ntlmssp users file (DOMAIN:user:password lines) for NTLM; default NTLM_USER_FILE. */
  ntlmUsers: string | undefined;
  replayCache: ReplayCacheOption;
  /** `--replay-cache memory`: most authenticator tags held (default 8,000,000). */
  replayCacheSize?: number;
  /** `--replay-cache memory`: most tags one client principal may hold (default: a quarter of the size). */
  replayCachePrincipalQuota?: number;
  /** `--sspi-principal`, `--gss-sample-principal`, `--http-principal`: a pinned name per front end. */
  frontendPrincipals?: Partial<Record<AcceptorSlot, string>>;
  /** `--require-flags`: context flags every client must request (default none). */
  requireFlags?: RequiredFlag[];
  sspi: ListenAddress | undefined;
  gssSample: ListenAddress | undefined;
  /** HTTP `Authorization: Negotiate` listener (uWebSockets.js). */
  http: ListenAddress | undefined;
  /** WebSocket path on the HTTP listener, or undefined for none. */
  wsPath: string | undefined;
  /** Signed session cookies after a handshake: lifetime in seconds, or undefined for none. */
  sessionCookieTtlSeconds: number | undefined;
  /** Keys for the session cookie's HMAC (the first signs); empty: a random key per start. */
  sessionCookieKeys: Buffer[];
  /** Mark the cookie Secure (the server sits behind TLS). */
  sessionCookieSecure: boolean;
  /** Run uWebSockets.js on its JS emulation rather than refuse to start. */
  allowUwsFallback: boolean;
  /** Admin listener (/metrics, /healthz, /readyz; plain HTTP), or undefined for none. */
  admin: ListenAddress | undefined;
  workers: number;
  maxQueue: number;
  taskTimeoutMs: number;
  maxContexts: number;
  /**
   * `--max-handshakes-per-address`: handshakes holding a context between legs (NTLM) one remote
   * address may have at once, over every front end (default: a tenth of maxContexts).
   */
  maxHandshakesPerAddress?: number;
  maxTokenBytes: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  /**
   * True when the operator chose maxConnections (`--max-connections`): caps that do not fit the
   * file-descriptor limit then refuse to start. Otherwise the default is lowered to fit.
   */
  maxConnectionsFromUser?: boolean;
  greeting: string;
  /**
   * gss-sample: serve sessions that open without a security context (MIT gss-client's `-na`),
   * closed at the handshake deadline. Default false: they are refused (ERR_UNAUTHENTICATED_REFUSED).
   */
  gssSampleAllowUnauthenticated?: boolean;
  shutdownGraceMs: number;
  logLevel: LogLevel;
}

export const DEFAULT_SSPI: ListenAddress = { host: '127.0.0.1', port: 2000 };
export const DEFAULT_GSS_SAMPLE: ListenAddress = { host: '127.0.0.1', port: 4444 };
export const DEFAULT_HTTP: ListenAddress = { host: '127.0.0.1', port: 8080 };
export const DEFAULT_WS_PATH = '/ws';

/** The limits `serve` applies unless told otherwise (see --help and docs/configuration.md). */
export const DEFAULT_LIMITS = Object.freeze({
  maxQueue: 1024,
  taskTimeoutMs: 5000,
  maxContexts: 100_000,
  maxTokenBytes: 65536,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxConnections: 10_000,
});

/** A WebSocket path: absolute, no wildcards or query. */
export function parseWsPath(value: string): string {
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(value)) {
    throw new ConfigError('ERR_CONFIG', `--ws expects an absolute path such as /ws, not ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Session-cookie keys from a file: one base64 key per line (at least 32 bytes each), the first
 * signs and every one verifies, so keys rotate by adding the new key on top.
 */
export function parseCookieKeys(file: string, text: string): Buffer[] {
  const keys = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l, i) => {
      const key = Buffer.from(l, 'base64');
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(l) || key.length < 32) {
        throw new ConfigError('ERR_CONFIG', `${file} line ${i + 1}: a key must be base64 of at least 32 bytes (e.g. openssl rand -base64 32)`);
      }
      return key;
    });
  if (keys.length === 0) throw new ConfigError('ERR_CONFIG', `${file} holds no key`);
  return keys;
}

/** Parses `HOST:PORT`, `[V6]:PORT` or a bare `PORT` (loopback). */
export function parseListenAddress(flag: string, value: string): ListenAddress {
  let host = '127.0.0.1';
  let portText = value;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  if (v6) {
    host = v6[1] as string;
    portText = v6[2] as string;
  } else if (value.includes(':')) {
    const i = value.lastIndexOf(':');
    host = value.slice(0, i);
    portText = value.slice(i + 1);
  }
  const port = Number(portText);
  if (!host || !/^\d+$/.test(portText) || port > 65535) {
    throw new ConfigError('ERR_CONFIG', `${flag} expects HOST:PORT with a port 0-65535 (0 picks a free port), not ${JSON.stringify(value)}`);
  }
  return { host, port };
}

/** Parses a positive integer option, naming the flag in the error. */
export function parsePositiveInt(flag: string, value: string, { min = 1, max = Number.MAX_SAFE_INTEGER } = {}): number {
  if (!/^\d+$/.test(value)) throw new ConfigError('ERR_CONFIG', `${flag} expects a whole number, not ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError('ERR_CONFIG', `${flag} must be between ${min} and ${max}, not ${n}`);
  return n;
}

/** `--require-flags mutual,replay,...`: a comma-separated list of flag names, each once. */
export function parseRequireFlags(value: string): RequiredFlag[] {
  const names = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const known = Object.keys(REQUIRABLE_FLAGS).join(', ');
  if (names.length === 0) throw new ConfigError('ERR_CONFIG', `--require-flags expects a list of ${known}`);
  const out: RequiredFlag[] = [];
  for (const n of names) {
    if (!isRequiredFlag(n)) throw new ConfigError('ERR_CONFIG', `--require-flags: unknown flag ${JSON.stringify(n)}; expected ${known}`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

export function parseReplayCache(value: string): ReplayCacheOption {
  if (value === 'default' || value === 'none' || value === 'memory') return value;
  if (value.startsWith('file:') && value.length > 'file:'.length) return value as ReplayCacheOption;
  throw new ConfigError('ERR_CONFIG', `--replay-cache expects default, memory, none or file:PATH, not ${JSON.stringify(value)}`);
}

export function parseLogLevel(value: string): LogLevel {
  if (['debug', 'info', 'warn', 'error', 'silent'].includes(value)) return value as LogLevel;
  throw new ConfigError('ERR_CONFIG', `--log-level expects debug, info, warn, error or silent, not ${JSON.stringify(value)}`);
}
