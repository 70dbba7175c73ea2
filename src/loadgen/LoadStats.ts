/**
 * The counters of one load run and the result it reports: `loadgen --json`'s object, whose
 * field names are stable (docs/loadgen.md), and the text table printed without `--json`.
 */
import { LatencyHistogram } from './LatencyHistogram.js';
import { ERROR_KINDS, type ErrorKind } from './outcome.js';

export interface LoadResult {
  target: string;
  framing: 'http' | 'https' | 'sspi' | 'gss-sample';
  service: string;
  mech: 'spnego' | 'krb5';
  connections: number;
  durationSeconds: number;
  /** The --rate cap, handshakes per second; null without one. */
  rate: number | null;
  elapsedSeconds: number;
  /** Handshakes that succeeded (a sampled one only when its mutual authentication verified). */
  handshakes: number;
  handshakesPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  errors: Record<ErrorKind, number>;
  errorsTotal: number;
  /** The first detail seen per error kind (e.g. "HTTP 401", "ECONNREFUSED"). */
  errorSamples: Partial<Record<ErrorKind, string>>;
  mutual: { sampleEvery: number; sampled: number; verified: number; failed: number };
  /** HTTP answers by status code; empty for the TCP framings. */
  httpStatus: Record<string, number>;
  /** CPU time of the load generator itself (this process) and of its token generator. */
  cpuSeconds: { loadgen: number; tokengen: number | null };
}

export class LoadStats {
  readonly latency = new LatencyHistogram();
  readonly errors: Record<ErrorKind, number> = Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])) as Record<
    ErrorKind,
    number
  >;
  readonly errorSamples: Partial<Record<ErrorKind, string>> = {};
  readonly httpStatus: Record<string, number> = {};
  readonly mutual = { sampled: 0, verified: 0, failed: 0 };
  handshakes = 0;

  success(ms: number, status: number | undefined): void {
    this.handshakes++;
    this.latency.record(ms);
    if (status !== undefined) this.#status(status);
  }

  error(kind: ErrorKind, detail: string, status: number | undefined): void {
    this.errors[kind]++;
    this.errorSamples[kind] ??= detail;
    if (status !== undefined) this.#status(status);
  }

  get errorsTotal(): number {
    return ERROR_KINDS.reduce((n, k) => n + this.errors[k], 0);
  }

  #status(status: number): void {
    this.httpStatus[status] = (this.httpStatus[status] ?? 0) + 1;
  }
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** The result object from the run's counters. */
export function loadResult(
  stats: LoadStats,
  run: Omit<
    LoadResult,
    | 'elapsedSeconds'
    | 'handshakes'
    | 'handshakesPerSecond'
    | 'latencyMs'
    | 'errors'
    | 'errorsTotal'
    | 'errorSamples'
    | 'mutual'
    | 'httpStatus'
  > & { elapsedSeconds: number; sampleEvery: number },
): LoadResult {
  const { sampleEvery, cpuSeconds, ...rest } = run;
  const h = stats.latency;
  return {
    ...rest,
    elapsedSeconds: round(run.elapsedSeconds, 3),
    handshakes: stats.handshakes,
    handshakesPerSecond: run.elapsedSeconds > 0 ? round(stats.handshakes / run.elapsedSeconds, 1) : 0,
    latencyMs: {
      p50: round(h.percentileMs(50), 3),
      p90: round(h.percentileMs(90), 3),
      p99: round(h.percentileMs(99), 3),
      max: round(h.maxMs, 3),
    },
    errors: { ...stats.errors },
    errorsTotal: stats.errorsTotal,
    errorSamples: { ...stats.errorSamples },
    mutual: { sampleEvery, ...stats.mutual },
    httpStatus: { ...stats.httpStatus },
    cpuSeconds,
  };
}

/** The result as the text table printed without --json. */
export function formatLoadResult(r: LoadResult): string {
  const errors = ERROR_KINDS.map((k) => `${k} ${r.errors[k]}`).join(', ');
  const samples = ERROR_KINDS.filter((k) => r.errorSamples[k] !== undefined).map(
    (k) => `             ${k}: ${r.errorSamples[k]}`,
  );
  const statuses = Object.entries(r.httpStatus)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  const cpu = r.cpuSeconds.loadgen + (r.cpuSeconds.tokengen ?? 0);
  const cpuPer = r.handshakes > 0 ? ` (${Math.round((cpu * 1e6) / r.handshakes)} µs per handshake)` : '';
  const rate = r.rate === null ? '' : `, at most ${r.rate}/s`;
  const lines = [
    `target       ${r.target} (${r.framing}, ${r.service}, ${r.mech})`,
    `load         ${r.connections} connections, ${r.durationSeconds} s${rate}`,
    `handshakes   ${r.handshakes} in ${r.elapsedSeconds.toFixed(2)} s = ${r.handshakesPerSecond.toFixed(1)}/s`,
    `latency ms   p50 ${r.latencyMs.p50}  p90 ${r.latencyMs.p90}  p99 ${r.latencyMs.p99}  max ${r.latencyMs.max}`,
    `errors       ${r.errorsTotal} (${errors})`,
    ...samples,
    r.mutual.sampleEvery === 0
      ? 'mutual auth  not checked (--sample-mutual 0)'
      : `mutual auth  ${r.mutual.sampled} sampled (1 in ${r.mutual.sampleEvery}): ` +
        `${r.mutual.verified} verified, ${r.mutual.failed} failed`,
    ...(statuses === '' ? [] : [`http status  ${statuses}`]),
    `cpu          loadgen ${r.cpuSeconds.loadgen.toFixed(2)} s, tokengen ` +
      `${r.cpuSeconds.tokengen === null ? '?' : `${r.cpuSeconds.tokengen.toFixed(2)} s`}${cpuPer}`,
  ];
  return `${lines.join('\n')}\n`;
}
