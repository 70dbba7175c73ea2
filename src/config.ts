/**
 * The server's defaults and value ranges, in one place: read by the option resolver
 * (options.ts), the CLI's flag table (cli/serveFlags.ts, which prints them in --help) and the
 * front ends that are used on their own. A leaf module: it imports no front end.
 */
import { DEFAULT_REPLAY_CACHE_SIZE, type ReplayCacheOption } from './pool/credentials.js';
import { isRedisUrl } from './replay/redisUrl.js';

export { DEFAULT_REPLAY_CACHE_SIZE };

/** A listener address (IPv6 hosts without brackets). */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Where a listener binds when only its port (or nothing) is given: loopback. */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_SSPI: ListenAddress = { host: DEFAULT_HOST, port: 2000 };
export const DEFAULT_GSS_SAMPLE: ListenAddress = { host: DEFAULT_HOST, port: 4444 };
export const DEFAULT_HTTP: ListenAddress = { host: DEFAULT_HOST, port: 8080 };
export const DEFAULT_WS_PATH = '/ws';
/** Session cookie lifetime when a cookie is asked for without one (the HTTP front end's own default). */
export const DEFAULT_SESSION_COOKIE_TTL_SECONDS = 3600;
/** On close(), time given to handshakes in flight. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5000;

/** The limits the server applies unless told otherwise (see --help and docs/configuration.md). */
export const DEFAULT_LIMITS = Object.freeze({
  maxQueue: 1024,
  taskTimeoutMs: 5000,
  maxContexts: 100_000,
  maxTokenBytes: 65536,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxConnections: 10_000,
});

export type Limits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number };

export interface IntRange {
  min: number;
  max: number;
}

const POSITIVE: IntRange = { min: 1, max: Number.MAX_SAFE_INTEGER };

/** Accepted whole-number ranges, checked by the resolver and by the CLI (with the flag's name). */
export const RANGES = Object.freeze({
  workers: { min: 1, max: 256 },
  maxQueue: POSITIVE,
  taskTimeoutMs: POSITIVE,
  maxContexts: POSITIVE,
  maxTokenBytes: { min: 16, max: 16 * 1024 * 1024 },
  handshakeTimeoutMs: POSITIVE,
  idleTimeoutMs: POSITIVE,
  maxConnections: POSITIVE,
  shutdownGraceMs: { min: 0, max: Number.MAX_SAFE_INTEGER },
  sessionCookieTtlSeconds: { min: 1, max: 30 * 86400 },
  replayCacheSize: POSITIVE,
  replayCachePrincipalQuota: POSITIVE,
  maxHandshakesPerAddress: POSITIVE,
  port: { min: 0, max: 65535 },
} satisfies Record<string, IntRange>);

/** A WebSocket path: absolute, no wildcards or query. */
export const WS_PATH_PATTERN = /^\/[A-Za-z0-9._~\-/]*$/;

export function isReplayCacheOption(value: string): value is ReplayCacheOption {
  return (
    value === 'default' ||
    value === 'none' ||
    value === 'memory' ||
    (value.startsWith('file:') && value.length > 'file:'.length) ||
    isRedisUrl(value)
  );
}
