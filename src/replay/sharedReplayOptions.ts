/**
 * The options of the shared replay cache (Redis), with their defaults and checks. The URL itself
 * is the `replayCache` credential option (redisUrl.ts).
 */
import { ConfigError } from '../errors.js';

/** `--replay-cache-fallback`: what a handshake does when Redis cannot check it. */
export type ReplayFallback = 'none' | 'memory';

export interface SharedReplayCacheOptions {
  /**
   * Prefix of every key, before the service principal: `<prefix><service>:<tag>`. Default
   * `negotiate:rc:`. Servers that must see each other's authenticators share it.
   */
  prefix?: string;
  /** Deadline of one check, ms, from the accept's completion to Redis's answer. Default 200. */
  timeoutMs?: number;
  /**
   * `none` (default): a handshake Redis cannot check is refused (ERR_REPLAY_CACHE_UNAVAILABLE,
   * HTTP 503) and /readyz answers 503. `memory`: it is checked on this process's in-memory
   * cache only (which then checks every accept), with a warning and a metric.
   */
  fallback?: ReplayFallback;
  /** Checks waiting for Redis at most; beyond it a check fails at once (as unavailable). Default 4096. */
  maxPending?: number;
}

export type ResolvedSharedReplayCacheOptions = Required<SharedReplayCacheOptions>;

export const DEFAULT_SHARED_REPLAY_CACHE: ResolvedSharedReplayCacheOptions = {
  prefix: 'negotiate:rc:',
  timeoutMs: 200,
  fallback: 'none',
  maxPending: 4096,
};

/** Prefixes are keys' first bytes: printable, no spaces, bounded. */
const PREFIX_PATTERN = /^[\x21-\x7e]{0,64}$/;

export function isReplayFallback(value: string): value is ReplayFallback {
  return value === 'none' || value === 'memory';
}

/** Fills the defaults; throws ConfigError naming the option for a bad value. */
export function resolveSharedReplayCache(o: SharedReplayCacheOptions | undefined): ResolvedSharedReplayCacheOptions {
  const r: ResolvedSharedReplayCacheOptions = { ...DEFAULT_SHARED_REPLAY_CACHE, ...o };
  if (typeof r.prefix !== 'string' || !PREFIX_PATTERN.test(r.prefix))
    throw new ConfigError('ERR_CONFIG', 'replay cache prefix: up to 64 printable characters, no spaces');
  if (!Number.isInteger(r.timeoutMs) || r.timeoutMs < 1 || r.timeoutMs > 60_000)
    throw new ConfigError('ERR_CONFIG', `replay cache timeout must be 1..60000 ms, not ${String(r.timeoutMs)}`);
  if (!isReplayFallback(r.fallback))
    throw new ConfigError('ERR_CONFIG', `replay cache fallback must be none or memory, not ${String(r.fallback)}`);
  if (!Number.isInteger(r.maxPending) || r.maxPending < 1 || r.maxPending > 1_000_000)
    throw new ConfigError('ERR_CONFIG', `replay cache max pending must be 1..1000000, not ${String(r.maxPending)}`);
  return r;
}
