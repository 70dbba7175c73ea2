/**
 * The shared replay check of a pool whose credentials name Redis (`--replay-cache redis://...`):
 * after GSSAPI accepted a krb5 context and before the handshake is reported complete, the
 * context's shared tag must be new to Redis. The failure policy lives here: a tag Redis cannot
 * check is refused (ERR_REPLAY_CACHE_UNAVAILABLE), or, with the `memory` fallback, left to the
 * in-memory cache that then checks every accept in this process, loudly (warning, metric).
 * Nothing is ever accepted unchecked.
 */
import { GssError, ReplayStoreError, type NegotiateError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { NativeAcceptResult } from '../native.js';
import { DEFAULT_REPLAY_CACHE_SIZE, type CredentialOptions } from '../pool/credentials.js';
import { isRedisUrl } from './redisUrl.js';
import { RedisReplayStore, StoreUnavailable, type RedisReplayStoreOptions } from './RedisReplayStore.js';
import { resolveSharedReplayCache, type ReplayFallback } from './sharedReplayOptions.js';

/** GSS_S_DUPLICATE_TOKEN: the major status MIT reports for a replay, kept for the same error. */
const GSS_S_DUPLICATE_TOKEN = 0x00000002;

/** Counters of the shared replay check, for the metrics (src/replay/replayStoreMetrics.ts). */
export interface SharedReplayStats {
  up: boolean;
  pending: number;
  fresh: number;
  replays: number;
  quota: number;
  unavailable: number;
  fallback: number;
}

export class SharedReplayCheck {
  readonly store: RedisReplayStore;
  readonly fallback: ReplayFallback;
  readonly #logger: Logger;
  readonly #stats = { fresh: 0, replays: 0, quota: 0, unavailable: 0, fallback: 0 };
  /** The fallback warning is logged once per outage. */
  #warnedThisOutage = false;

  private constructor(options: RedisReplayStoreOptions, fallback: ReplayFallback, logger: Logger) {
    this.fallback = fallback;
    this.#logger = logger;
    this.store = new RedisReplayStore({ ...options, onHealth: (up, reason) => this.#health(up, reason) });
  }

  /**
   * The check the credentials ask for, connected (or down and retrying: a server starts while
   * Redis is away, not ready until it is back), or undefined when they name no Redis.
   */
  static async open(credentials: CredentialOptions, logger: Logger): Promise<SharedReplayCheck | undefined> {
    const url = credentials.replayCache;
    if (url === undefined || !isRedisUrl(url)) return undefined;
    const options = resolveSharedReplayCache(credentials.sharedReplayCache);
    const size = credentials.replayCacheSize ?? DEFAULT_REPLAY_CACHE_SIZE;
    const principalQuota = credentials.replayCachePrincipalQuota ?? Math.max(1, Math.floor(size / 4));
    const check = new SharedReplayCheck({ ...options, url, principalQuota, logger }, options.fallback, logger);
    const store = check.store;
    await store.connect();
    const health = store.health();
    logger.info('replay cache on Redis', {
      url: store.shownUrl,
      prefix: options.prefix,
      timeoutMs: options.timeoutMs,
      fallback: options.fallback,
      up: health.up,
      ...(health.up ? {} : { reason: health.reason }),
    });
    return check;
  }

  /**
   * Checks a completed accept: undefined to go on, or the error to fail the handshake with
   * (ERR_GSS_REPLAY, ERR_REPLAY_QUOTA, ERR_REPLAY_CACHE_UNAVAILABLE). Other results pass.
   */
  async check(r: NativeAcceptResult): Promise<NegotiateError | undefined> {
    if (!r.ok || r.status !== 'complete' || r.mech !== 'krb5') return undefined;
    if (r.replay === undefined) {
      // The credential was acquired without sharedReplayTag: never accept unchecked.
      this.#stats.unavailable++;
      return new ReplayStoreError('ERR_REPLAY_CACHE_UNAVAILABLE', 'accept: no shared replay tag; refused');
    }
    try {
      const verdict = await this.store.check(r.replay, r.principal);
      if (verdict === 'fresh') {
        this.#stats.fresh++;
        return undefined;
      }
      if (verdict === 'replay') {
        this.#stats.replays++;
        return new GssError(
          'ERR_GSS_REPLAY',
          'accept: Request is a replay (the shared replay cache on Redis has seen this authenticator)',
          GSS_S_DUPLICATE_TOKEN,
          0,
        );
      }
      this.#stats.quota++;
      return new GssError(
        'ERR_REPLAY_QUOTA',
        'accept: this client principal holds its share of the shared replay cache ' +
          '(--replay-cache-principal-quota); refused until its older authenticators expire',
        0,
        0,
      );
    } catch (err) {
      const reason = err instanceof StoreUnavailable ? err.message : String(err);
      if (this.fallback === 'memory') {
        // The in-memory cache already checked this accept (the credential runs it too).
        this.#stats.fallback++;
        return undefined;
      }
      this.#stats.unavailable++;
      return new ReplayStoreError(
        'ERR_REPLAY_CACHE_UNAVAILABLE',
        `accept: the shared replay cache cannot check this authenticator (${reason}); refused`,
      );
    }
  }

  /** What /readyz says of the store: ready while up, or always with the memory fallback. */
  readiness(): { ready: boolean; reason?: string } {
    const h = this.store.health();
    if (h.up || this.fallback === 'memory') return { ready: true };
    return { ready: false, reason: `replay cache unavailable: ${h.reason ?? 'Redis is down'}` };
  }

  stats(): SharedReplayStats {
    return { up: this.store.health().up, pending: this.store.pending, ...this.#stats };
  }

  close(): Promise<void> {
    return this.store.close();
  }

  #health(up: boolean, reason: string | undefined): void {
    if (up) {
      if (!this.#warnedThisOutage) return; // the first connection: open() logs it
      this.#warnedThisOutage = false;
      this.#logger.info('replay cache on Redis is back: handshakes are checked there again', {
        url: this.store.shownUrl,
      });
      return;
    }
    if (this.#warnedThisOutage) return;
    this.#warnedThisOutage = true;
    if (this.fallback === 'memory')
      this.#logger.warn(
        "replay cache on Redis unavailable: FALLING BACK to this process's memory cache; a token " +
          'accepted here can be replayed to another server until Redis is back',
        { url: this.store.shownUrl, reason },
      );
    else
      this.#logger.error('replay cache on Redis unavailable: Kerberos handshakes are refused (503) until it is back', {
        url: this.store.shownUrl,
        reason,
      });
  }
}
