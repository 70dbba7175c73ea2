/**
 * Metrics of the server's state (pool, context table, open connections), read when Prometheus
 * scrapes: nothing polls in between, and an idle server costs nothing.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NativeContextStats, NativeReplayStats } from '../native.js';
import type { SharedReplayStats } from '../replay/SharedReplayCheck.js';

/** AuthPool.stats(): the process-wide context table plus the pool's queue. */
export type PoolStats = NativeContextStats & { queued: number; utilization: number };

/** Open connections and authenticated sessions of one front end. */
export interface FrontendLoad {
  frontend: 'sspi' | 'gss-sample' | 'ws';
  /** Open connections, handshaking or authenticated. */
  connections: number;
  /** Open connections whose handshake completed (a Session exists and is not closed). */
  sessions: number;
}

/** Where the state metrics read from; each function is called at most once per scrape. */
export interface StateSources {
  /** AuthPool.stats(). */
  poolStats(): PoolStats;
  /** AuthPool.replayStats(): the in-memory replay cache (`enabled: false` with MIT's caches). */
  replayStats(): NativeReplayStats;
  /** Worker threads configured for the pool. */
  workers: number;
  /** Tasks the pool queue holds before it refuses (ERR_POOL_QUEUE_FULL). */
  maxQueue: number;
  /** Every front end that keeps connections (TCP listeners, the WebSocket route). */
  frontends(): FrontendLoad[];
  /** HTTP requests being authenticated or handled, or undefined without an HTTP listener. */
  httpInFlight(): number | undefined;
  /** The per-address bound on handshakes in progress (HandshakesPerAddress), when there is one. */
  handshakesPerAddress?: () => { refused: number; inProgress: number };
  /** The replay check on Redis (AuthPool.sharedReplay), undefined without one. */
  sharedReplay?: () => SharedReplayStats | undefined;
}

/**
 * Registers the state metrics on `registry`, with names starting with `prefix`. The context
 * table is process-wide, so its metrics count every pool and front end in the process.
 */
export function registerStateMetrics(registry: Registry, prefix: string, sources: StateSources): void {
  // One stats() call per scrape: prom-client runs every collect callback in the same
  // synchronous pass, so a snapshot cleared on the next microtask gives them one consistent
  // view (live = handshaking + established holds within a scrape).
  let snapshot: PoolStats | undefined;
  const stats = (): PoolStats => {
    if (snapshot === undefined) {
      snapshot = sources.poolStats();
      queueMicrotask(() => {
        snapshot = undefined;
      });
    }
    return snapshot;
  };
  const registers = [registry];

  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name: prefix + name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };
  // A counter the native table already counts: report its running total as is.
  const total = (name: string, help: string, read: () => number): void => {
    new Counter({
      name: prefix + name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };

  gauge('pool_workers', 'Worker threads of the pool (configured).', () => sources.workers);
  gauge('pool_queue_depth', 'Tasks waiting for a worker thread.', () => stats().queued);
  gauge(
    'pool_queue_limit',
    'Tasks the queue holds before new ones fail with ERR_POOL_QUEUE_FULL.',
    () => sources.maxQueue,
  );
  gauge(
    'pool_utilization',
    "Fraction of the workers' capacity spent running tasks, averaged since the pool started (Piscina's " +
      'utilization), 0 to 1.',
    () => {
      const u = stats().utilization;
      return Number.isFinite(u) ? u : 0;
    },
  );

  gauge('contexts_live', 'Security contexts alive in the process (handshaking + established).', () => stats().live);
  gauge('contexts_handshaking', 'Security contexts whose handshake is in progress.', () => stats().handshaking);
  gauge(
    'contexts_established',
    'Security contexts whose handshake completed and that are not yet freed.',
    () => stats().established,
  );
  gauge('contexts_checked_out', 'Security contexts a worker thread is using right now.', () => stats().inUse);
  gauge(
    'contexts_pending_delete',
    'Released contexts whose deletion a worker thread has not run yet (at most 1024).',
    () => stats().pendingDelete,
  );
  total(
    'contexts_created_total',
    'Security contexts created (first accept legs that got a table entry).',
    () => stats().created,
  );
  total(
    'contexts_completed_total',
    'Handshakes that completed (contexts that became established).',
    () => stats().completed,
  );
  total('contexts_failed_total', 'Contexts dropped because an accept leg failed.', () => stats().failed);
  total('contexts_released_total', 'Contexts freed because their connection or request ended.', () => stats().released);
  total(
    'contexts_expired_total',
    'Handshakes freed by the sweep after idling past the handshake TTL.',
    () => stats().expired,
  );
  new Counter({
    name: prefix + 'contexts_refused_total',
    help:
      'Accept legs refused by the context table: reason="table_full" (at --max-contexts) or "busy" (a leg already ' +
      'running for the connection).',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      const s = stats();
      this.reset();
      this.inc({ reason: 'table_full' }, s.refusedFull);
      this.inc({ reason: 'busy' }, s.refusedBusy);
    },
  });

  // Only with --replay-cache memory: MIT's file cache keeps no counters of its own.
  gauge(
    'replay_cache_entries',
    'Authenticators the in-memory replay cache holds (0 unless --replay-cache memory).',
    () => sources.replayStats().entries,
  );
  gauge(
    'replay_cache_capacity',
    'Most authenticators the in-memory replay cache holds (--replay-cache-size; 0 unless --replay-cache memory).',
    () => {
      const r = sources.replayStats();
      return r.enabled ? r.capacity : 0;
    },
  );
  gauge(
    'replay_cache_fill_ratio',
    'Entries over capacity of the in-memory replay cache: at 1 new handshakes are refused (0 unless ' +
      '--replay-cache memory).',
    () => {
      const r = sources.replayStats();
      return r.enabled && r.capacity > 0 ? r.entries / r.capacity : 0;
    },
  );
  gauge(
    'replay_cache_bytes',
    "Memory the in-memory replay cache's tags take, in bytes.",
    () => sources.replayStats().bytes,
  );
  total(
    'replay_cache_full_total',
    'Handshakes refused because the in-memory replay cache was full (ERR_REPLAY_CACHE_FULL).',
    () => sources.replayStats().refusedFull,
  );
  total(
    'replay_cache_quota_total',
    'Handshakes refused because their client principal held its share of the in-memory replay cache ' +
      '(ERR_REPLAY_QUOTA).',
    () => sources.replayStats().refusedQuota,
  );
  total(
    'replay_journal_refused_total',
    'Handshakes refused because the replay journal could not record their authenticator (disk full, ' +
      'I/O error: ERR_REPLAY_CACHE_UNAVAILABLE; 0 without --replay-cache-journal).',
    () => sources.replayStats().refusedJournal,
  );
  gauge(
    'replay_journal_loaded',
    'Authenticators the replay journal gave back to the in-memory cache at start.',
    () => sources.replayStats().journalLoaded,
  );

  // The front ends are read once per scrape too; both gauges come from the same call.
  let loads: FrontendLoad[] | undefined;
  const frontendLoads = (): FrontendLoad[] => {
    if (loads === undefined) {
      loads = sources.frontends();
      queueMicrotask(() => {
        loads = undefined;
      });
    }
    return loads;
  };
  new Gauge({
    name: prefix + 'connections_open',
    help: 'Open connections per front end (sspi, gss-sample, ws), handshaking or authenticated.',
    labelNames: ['frontend'] as const,
    registers,
    collect() {
      this.reset();
      for (const f of frontendLoads()) this.set({ frontend: f.frontend }, f.connections);
    },
  });
  new Gauge({
    name: prefix + 'sessions_open',
    help:
      'Authenticated sessions per front end (sspi, gss-sample, ws): connections whose handshake completed and that ' +
      'are still open.',
    labelNames: ['frontend'] as const,
    registers,
    collect() {
      this.reset();
      for (const f of frontendLoads()) this.set({ frontend: f.frontend }, f.sessions);
    },
  });
  const perAddress = sources.handshakesPerAddress;
  if (perAddress) {
    gauge(
      'handshakes_per_address_in_progress',
      'Handshakes holding a context between legs (NTLM), over every address; each address may hold ' +
        '--max-handshakes-per-address.',
      () => perAddress().inProgress,
    );
    total(
      'handshakes_per_address_refused_total',
      'Leg 1s refused because their remote address held --max-handshakes-per-address handshakes in progress ' +
        '(ERR_HANDSHAKES_PER_ADDRESS).',
      () => perAddress().refused,
    );
  }
  gauge(
    'http_requests_in_flight',
    'HTTP requests being authenticated or handled (0 without an HTTP listener).',
    () => sources.httpInFlight() ?? 0,
  );
}
