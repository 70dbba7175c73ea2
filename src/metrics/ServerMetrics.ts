/**
 * A server's Prometheus metrics: handshake outcomes and latency, counted from the server's
 * 'session' and 'handshakeFailed' events, plus the state metrics read at scrape time. Each
 * server has its own Registry (never prom-client's global one), so several servers in one
 * process, tests included, do not collide. docs/operations.md lists every metric.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registerStateMetrics, type StateSources } from './stateMetrics.js';
import { registerSharedReplayMetrics } from '../replay/sharedReplayMetrics.js';
import { LabelTally } from './labelTally.js';

/** Every metric of this package starts with it (prom-client's process metrics do not). */
export const METRIC_PREFIX = 'negotiate_';

/**
 * Handshake latency buckets, seconds: a Kerberos accept on an idle server is about a
 * millisecond, a queued one or a client fetching its ticket mid-handshake takes longer, and
 * nothing outlives the 10 s default handshake timeout.
 */
export const HANDSHAKE_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Failure codes counted as replays: a token (authenticator) seen before. */
export const REPLAY_CODES: ReadonlySet<string> = new Set(['ERR_GSS_REPLAY']);

/** The tally key of failures next to successes' mechanism names (none has a space). */
const FAILURE_KEY = ' failure';

/** A completed handshake, as the 'session' event reports it. */
export interface HandshakeSuccessFacts {
  frontend: string;
  mech: string;
  /** From the connection's accept (HTTP: the request's arrival) to the handshake's completion. */
  latencyMs?: number | undefined;
}

/** A failed handshake, as the 'handshakeFailed' event reports it. */
export interface HandshakeFailureFacts {
  frontend: string;
  code: string;
  latencyMs: number;
}

export interface ServerMetricsOptions {
  /** Where the pool, context-table and connection metrics are read from at scrape time. */
  sources: StateSources;
  /** Also register prom-client's default process and Node.js metrics (unprefixed). Default false. */
  processMetrics?: boolean;
}

/**
 * The metrics of one NegotiateServer (`server.metrics`). The server feeds it its events; use
 * it directly only to build a server of your own from the acceptors.
 */
export class ServerMetrics {
  /** This server's registry; merge it into another with `Registry.merge` to serve both. */
  readonly registry: Registry;
  /** Handshakes and failures are counted in plain tallies, read into their counters at scrape time. */
  readonly #handshakes = new LabelTally<'frontend' | 'mech' | 'outcome'>();
  readonly #failureCodes = new LabelTally<'frontend' | 'code'>();
  readonly #duration: Histogram<'frontend' | 'outcome'>;
  readonly #replays: Counter;
  readonly #descriptorExhaustion: Counter<'listener'>;
  readonly #authorizationRefusals: Counter<'frontend' | 'rule'>;

  constructor(options: ServerMetricsOptions) {
    this.registry = new Registry();
    const registers = [this.registry];
    const handshakes = this.#handshakes;
    new Counter({
      name: `${METRIC_PREFIX}handshakes_total`,
      help: 'Handshakes by front end, mechanism and outcome (success|failure); mech is "unknown" for failures.',
      labelNames: ['frontend', 'mech', 'outcome'] as const,
      registers,
      collect(): void {
        handshakes.writeTo(this);
      },
    });
    const failureCodes = this.#failureCodes;
    new Counter({
      name: `${METRIC_PREFIX}handshake_failures_total`,
      help: 'Failed handshakes by front end and stable error code (ERR_*).',
      labelNames: ['frontend', 'code'] as const,
      registers,
      collect(): void {
        failureCodes.writeTo(this);
      },
    });
    this.#duration = new Histogram({
      name: `${METRIC_PREFIX}handshake_duration_seconds`,
      help: 'Time from the connection (HTTP: the request) to the handshake outcome, by front end and outcome.',
      labelNames: ['frontend', 'outcome'] as const,
      buckets: [...HANDSHAKE_DURATION_BUCKETS],
      registers,
    });
    this.#replays = new Counter({
      name: `${METRIC_PREFIX}replay_rejections_total`,
      help:
        'Handshakes refused because the token was a replay (ERR_GSS_REPLAY); per front end in ' +
        'handshake_failures_total.',
      registers,
    });
    this.#descriptorExhaustion = new Counter({
      name: `${METRIC_PREFIX}descriptor_exhaustion_total`,
      help:
        'Times the process ran out of file descriptors (listener "process": seen by the periodic count; "admin": ' +
        'EMFILE on accept).',
      labelNames: ['listener'] as const,
      registers,
    });
    this.#authorizationRefusals = new Counter({
      name: `${METRIC_PREFIX}authorization_refusals_total`,
      help:
        'Authenticated clients refused by authorization, by front end and rule (allow-realm, allow-principal, ' +
        'allow, require-group, hook; hook failures included).',
      labelNames: ['frontend', 'rule'] as const,
      registers,
    });
    registerStateMetrics(this.registry, METRIC_PREFIX, options.sources);
    registerSharedReplayMetrics(this.registry, METRIC_PREFIX, options.sources.sharedReplay ?? (() => undefined));
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts a completed handshake. */
  recordSuccess(s: HandshakeSuccessFacts): void {
    this.#handshakes.add(s.frontend, s.mech, () => ({ frontend: s.frontend, mech: s.mech, outcome: 'success' }));
    if (s.latencyMs !== undefined)
      this.#duration.observe({ frontend: s.frontend, outcome: 'success' }, s.latencyMs / 1000);
  }

  /** Counts a failed handshake. The mechanism of a failure is not known: "unknown". */
  recordFailure(f: HandshakeFailureFacts): void {
    const frontend = f.frontend;
    this.#handshakes.add(frontend, FAILURE_KEY, () => ({ frontend, mech: 'unknown', outcome: 'failure' }));
    this.#failureCodes.add(f.frontend, f.code, () => ({ frontend: f.frontend, code: f.code }));
    this.#duration.observe({ frontend: f.frontend, outcome: 'failure' }, f.latencyMs / 1000);
    if (REPLAY_CODES.has(f.code)) this.#replays.inc();
  }

  /** Counts an authenticated client that authorization refused. */
  recordAuthorizationRefusal(r: { frontend: string; rule: string }): void {
    this.#authorizationRefusals.inc({ frontend: r.frontend, rule: r.rule });
  }

  /** Counts one episode of descriptor exhaustion seen by `listener` ('process' for the periodic count). */
  recordDescriptorExhaustion(listener: string): void {
    this.#descriptorExhaustion.inc({ listener });
  }

  /** The Content-Type of render()'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format, state metrics read now. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
