/**
 * Authenticator tags in Redis, shared by every server that names the same Redis and prefix:
 * one atomic script per check (the tag inserted with SET NX PX, the principal's quota counted
 * beside it), auto-pipelined by ioredis so checks made together share a round trip. Knows its
 * own health: a failed or late check marks it down, and while down a probe (PING) every half
 * second brings it back up; checks made while down fail at once instead of waiting.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { SharedReplayTag } from '../native.js';
import { redactRedisUrl, type RedisUrl } from './redisUrl.js';
import type { ResolvedSharedReplayCacheOptions } from './sharedReplayOptions.js';

/** What Redis said of a tag. */
export type StoreVerdict = 'fresh' | 'replay' | 'quota';

/** Why a check got no verdict: Redis unreachable, too slow, or too many checks waiting. */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}

/**
 * KEYS[1] the tag, KEYS[2] the principal's counter; ARGV[1] the window (ms), ARGV[2] the quota.
 * 0 fresh (recorded), 1 replay, 2 the principal holds its quota (nothing recorded). The counter
 * is a fixed window opened by the principal's first tag: at most `quota` new tags per window, so
 * at most twice that alive at once. A replay is answered as a replay even over quota.
 */
const CHECK_SCRIPT = `
local n = tonumber(redis.call('GET', KEYS[2]) or '0')
if n >= tonumber(ARGV[2]) then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
  return 2
end
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return 0
`;
const CHECK_SHA = createHash('sha1').update(CHECK_SCRIPT).digest('hex');
const VERDICTS: readonly StoreVerdict[] = ['fresh', 'replay', 'quota'];

/** While down, how often the store asks Redis whether it is back. */
const PROBE_INTERVAL_MS = 500;
/** Reconnection back-off: 50 ms more per attempt, at most 1 s. */
const MAX_RECONNECT_DELAY_MS = 1000;

export interface RedisReplayStoreOptions extends ResolvedSharedReplayCacheOptions {
  url: RedisUrl;
  /** Most tags one client principal records per window. */
  principalQuota: number;
  logger: Logger;
  /** Called when the store goes down or comes back up (`reason` set when down). */
  onHealth?: (up: boolean, reason: string | undefined) => void;
}

export class RedisReplayStore {
  readonly #options: RedisReplayStoreOptions;
  readonly #client: Redis;
  #up = false;
  #reason: string | undefined = 'connecting to Redis';
  #pending = 0;
  #downReported = false;
  #probe: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: RedisReplayStoreOptions) {
    this.#options = options;
    this.#client = new Redis(options.url, {
      lazyConnect: true,
      enableAutoPipelining: true,
      // Fail fast while disconnected: a check never waits in a queue of ioredis's own.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: Math.max(options.timeoutMs, 1000),
      commandTimeout: options.timeoutMs,
      retryStrategy: (attempt: number) => Math.min(attempt * 50, MAX_RECONNECT_DELAY_MS),
    });
    this.#client.on('ready', () => this.#markUp());
    this.#client.on('close', () => this.#markDown('the connection to Redis closed'));
    // ioredis emits every connection error; the down/up transitions are what is logged.
    this.#client.on('error', (err: Error) => this.#markDown(`Redis: ${err.message}`));
  }

  /** The URL as it may be shown (password redacted). */
  get shownUrl(): string {
    return redactRedisUrl(this.#options.url);
  }

  /** Whether checks reach Redis now; `reason` says why not. */
  health(): { up: boolean; reason: string | undefined } {
    return { up: this.#up, reason: this.#reason };
  }

  /** Checks waiting for Redis now. */
  get pending(): number {
    return this.#pending;
  }

  /** Connects, waiting up to the connect timeout; a failure leaves the store down and retrying. */
  async connect(): Promise<void> {
    try {
      await this.#client.connect();
    } catch (err) {
      this.#markDown(`Redis: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * Records the tag under its service, unless present (a replay) or its principal holds its
   * quota. Rejects with StoreUnavailable when Redis cannot answer within the deadline.
   */
  async check(tag: SharedReplayTag, principal: string): Promise<StoreVerdict> {
    const o = this.#options;
    if (!this.#up) throw new StoreUnavailable(this.#reason ?? 'Redis is down');
    if (this.#pending >= o.maxPending)
      throw new StoreUnavailable(`${this.#pending} replay checks already wait for Redis`);
    const base = `${o.prefix}${tag.service}:`;
    const principalKey = `${base}quota:${createHash('sha256').update(principal).digest('hex').slice(0, 32)}`;
    const args = [`${base}${tag.tag}`, principalKey, tag.windowMs, o.principalQuota] as const;
    this.#pending++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        this.#run(args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new StoreUnavailable(`Redis did not answer within ${o.timeoutMs} ms`)),
            o.timeoutMs,
          );
        }),
      ]);
      const verdict = typeof reply === 'number' ? VERDICTS[reply] : undefined;
      if (verdict === undefined) throw new StoreUnavailable(`unexpected answer from Redis: ${String(reply)}`);
      return verdict;
    } catch (err) {
      const failure = err instanceof StoreUnavailable ? err : new StoreUnavailable(`Redis: ${String(err)}`);
      this.#markDown(failure.message);
      throw failure;
    } finally {
      clearTimeout(timer);
      this.#pending--;
    }
  }

  /** Closes the connection; checks fail from then on. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#probe);
    this.#probe = undefined;
    this.#up = false;
    this.#reason = 'closed';
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }

  async #run(args: readonly [string, string, number, number]): Promise<unknown> {
    try {
      return await this.#client.evalsha(CHECK_SHA, 2, ...args);
    } catch (err) {
      // A Redis restarted (or flushed) has forgotten the script: EVAL loads it again.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.#client.eval(CHECK_SCRIPT, 2, ...args);
    }
  }

  #markUp(): void {
    if (this.#closed) return;
    clearInterval(this.#probe);
    this.#probe = undefined;
    if (this.#up) return;
    this.#up = true;
    this.#downReported = false;
    this.#reason = undefined;
    this.#options.onHealth?.(true, undefined);
  }

  #markDown(reason: string): void {
    if (this.#closed) return;
    this.#reason = reason;
    if (this.#probe === undefined) {
      this.#probe = setInterval(() => void this.#ping(), PROBE_INTERVAL_MS);
      this.#probe.unref();
    }
    // Reported once per outage, a start with Redis away included.
    if (!this.#up && this.#downReported) return;
    this.#up = false;
    this.#downReported = true;
    this.#options.onHealth?.(false, reason);
  }

  async #ping(): Promise<void> {
    if (this.#client.status !== 'ready') return; // reconnecting: 'ready' will say when it is back
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#client.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('late')), this.#options.timeoutMs);
        }),
      ]);
      this.#markUp();
    } catch {
      // Still down; the next probe asks again.
    } finally {
      clearTimeout(timer);
    }
  }
}
