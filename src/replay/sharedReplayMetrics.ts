/**
 * Metrics of the replay cache on Redis, read at scrape time from the pool's SharedReplayCheck
 * (all zero without one). Handshakes it refused are also in handshake_failures_total by code
 * (ERR_GSS_REPLAY, ERR_REPLAY_QUOTA, ERR_REPLAY_CACHE_UNAVAILABLE).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SharedReplayStats } from './SharedReplayCheck.js';

export function registerSharedReplayMetrics(
  registry: Registry,
  prefix: string,
  read: () => SharedReplayStats | undefined,
): void {
  const registers = [registry];
  new Gauge({
    name: `${prefix}replay_store_up`,
    help: '1 while the replay cache on Redis answers checks, else 0 (always 0 without --replay-cache redis://).',
    registers,
    collect() {
      this.set(read()?.up === true ? 1 : 0);
    },
  });
  new Gauge({
    name: `${prefix}replay_store_pending`,
    help: 'Replay checks waiting for Redis now (bounded; beyond the bound checks fail as unavailable).',
    registers,
    collect() {
      this.set(read()?.pending ?? 0);
    },
  });
  new Counter({
    name: `${prefix}replay_store_checks_total`,
    help:
      'Replay checks on Redis by result: fresh, replay, quota, unavailable (refused, ERR_REPLAY_CACHE_UNAVAILABLE) ' +
      'or fallback (Redis could not check; the in-memory cache did, --replay-cache-fallback memory).',
    labelNames: ['result'] as const,
    registers,
    collect() {
      const s = read();
      this.reset();
      for (const result of ['fresh', 'replays', 'quota', 'unavailable', 'fallback'] as const)
        this.inc({ result: result === 'replays' ? 'replay' : result }, s?.[result] ?? 0);
    },
  });
  new Counter({
    name: `${prefix}replay_store_fallback_total`,
    help:
      'Handshakes checked on the in-memory cache only because Redis could not check them ' +
      '(--replay-cache-fallback memory): a token accepted then can be replayed to another server.',
    registers,
    collect() {
      this.reset();
      this.inc(read()?.fallback ?? 0);
    },
  });
}
