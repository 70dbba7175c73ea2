/**
 * HTTP Negotiate load through autocannon's programmatic API: one fresh initiator token per
 * request, never reused (a reused AP-REQ is a replay), and a request counts as ok only when it is
 * a 200 that carries the mutual-authentication token (`WWW-Authenticate: Negotiate <AP-REP>`).
 *
 * How autocannon is driven, and why (checked against autocannon 9.0.0's lib/ sources):
 * - `requests: [{ setupRequest, onResponse }]`: with a single request entry autocannon calls
 *   `setupRequest` exactly once per request it sends (once when a client is built, for its first
 *   request, then once before each later one, also after a reconnect), so handing out the next
 *   token there gives every request a distinct token. `onResponse(status, body, ctx, headers)` is
 *   the only place that sees a response's headers.
 * - `maxOverallRequests` (split evenly over the clients) bounds the count while `duration`
 *   bounds the time; `amount` is not used because it disables the duration timer. Connections are
 *   capped at the request budget: a client whose share is 0 would otherwise be unlimited.
 * - autocannon's own latency histogram has 1 ms resolution (sub-millisecond handshakes all land
 *   in 0 or 1), so latencies are recorded here at 1 µs resolution from the same per-response
 *   duration autocannon measures (its `response` event), for ok responses only.
 * - autocannon notices "stop" only on its sample tick, so `sampleInt` is short and the run's
 *   duration is measured here up to the last completed response, not taken from autocannon.
 */
import autocannon from 'autocannon';
import hdr from 'hdr-histogram-js';
import { loadResultOf } from './summaryResult.mjs';

/** @typedef {{ p50: number, p90: number, p99: number, max: number }} Latency */
/**
 * @typedef {{ scenario: string, server: string, connections: number, durationS: number,
 *   requests: number, ok: number, errors: number, errorKinds: Record<string, number>, rps: number,
 *   latencyMs: Latency, loadgenCpuS: number }} LoadResult
 */

/**
 * A latency recorder in microseconds (1 µs .. 60 s, 3 significant digits), reported in ms.
 * Shared with tcpLoad.mjs.
 */
export function makeLatencyRecorder() {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  return {
    /** @param {number} ms */
    record(ms) {
      h.recordValue(Math.min(60_000_000, Math.max(1, Math.round(ms * 1000))));
    },
    /** @returns {Latency} */
    summary() {
      const ms = (/** @type {number} */ us) => Math.round(us) / 1000;
      if (h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
      return {
        p50: ms(h.getValueAtPercentile(50)),
        p90: ms(h.getValueAtPercentile(90)),
        p99: ms(h.getValueAtPercentile(99)),
        max: ms(h.maxValue),
      };
    },
  };
}

/** @param {Record<string, number>} kinds @param {string} kind */
function bump(kinds, kind) {
  kinds[kind] = (kinds[kind] ?? 0) + 1;
}

/**
 * True when the response headers (autocannon's `{ rawName: value | value[] }`) carry
 * `WWW-Authenticate: Negotiate <non-empty token>`.
 * @param {Record<string, string | string[]>} headers
 */
function hasMutualToken(headers) {
  for (const name in headers) {
    if (name.length !== 16 || name.toLowerCase() !== 'www-authenticate') continue;
    const v = headers[name];
    for (const value of Array.isArray(v) ? v : [v]) {
      if (/^Negotiate\s+[A-Za-z0-9+/=]+\s*$/i.test(value)) return true;
    }
  }
  return false;
}

/**
 * The LoadResult of a finished Node run (used by tcpLoad.mjs too): errors are the sum of
 * errorKinds.
 * @param {{ scenario: string, serverName: string }} o
 * @param {{ connections: number, ok: number, errorKinds: Record<string, number>, activeMs: number,
 *   latency: ReturnType<typeof makeLatencyRecorder>, cpu: NodeJS.CpuUsage }} r
 * @returns {LoadResult}
 */
export function loadResult(o, r) {
  let errors = 0;
  for (const k in r.errorKinds) errors += /** @type {number} */ (r.errorKinds[k]);
  return loadResultOf(o, {
    connections: r.connections,
    durationS: r.activeMs / 1000,
    requests: r.ok + errors,
    ok: r.ok,
    errors,
    errorKinds: r.errorKinds,
    latencyMs: r.latency.summary(),
    loadgenCpuS: (r.cpu.user + r.cpu.system) / 1e6,
  });
}

/**
 * Drives `url` with autocannon, one token per request.
 *
 * @param {{ url: string, tokens: Buffer[], connections: number, durationS: number,
 *   maxRequests?: number, serverName: string, scenario: string, timeoutS?: number }} o
 *   `url`: e.g. `http://localhost:PORT/whoami` (autocannon connects to the hostname given; the
 *   token's SPN was chosen when it was generated, so `127.0.0.1` works as well). `tokens`: each is
 *   used at most once; the run stops when they or `maxRequests` run out, or after `durationS`.
 *   `timeoutS`: per-request timeout (default 5 s).
 * @returns {Promise<LoadResult>}
 */
export async function runHttpLoad(o) {
  const limit = Math.min(o.tokens.length, o.maxRequests ?? Infinity);
  if (!(limit >= 1)) throw new Error('runHttpLoad: no tokens (or maxRequests < 1)');
  if (!(o.durationS > 0)) throw new Error('runHttpLoad: durationS must be > 0');
  const connections = Math.max(1, Math.min(o.connections, limit));

  // Base64 and header strings are built before the clock starts: the timed phase should cost the
  // load generator as little as possible.
  const authHeaders = new Array(limit);
  for (let i = 0; i < limit; i++) authHeaders[i] = 'Negotiate ' + o.tokens[i].toString('base64');

  let next = 0;
  let ok = 0;
  let completed = 0;
  /** @type {Record<string, number>} */
  const errorKinds = {};
  const latency = makeLatencyRecorder();
  // onResponse (which sees headers) runs synchronously just before autocannon emits `response`
  // (which carries the duration) for the same response: this flag links the two.
  let lastWasOk = false;
  let lastEventAt = 0;

  const request = {
    method: 'GET',
    /** @param {any} req */
    setupRequest(req) {
      if (next >= limit) {
        // Unreachable with maxOverallRequests <= limit; never reuse a token: send none instead,
        // and the server's 401 counts as an error.
        req.headers = { ...req.headers };
        delete req.headers.Authorization;
        return req;
      }
      req.headers = { ...req.headers, Authorization: authHeaders[next++] };
      return req;
    },
    /**
     * @param {number} status @param {string} _body @param {unknown} _ctx @param {Record<string, string | string[]>}
     * headers
     */
    onResponse(status, _body, _ctx, headers) {
      completed++;
      lastWasOk = false;
      if (status === 200) {
        if (hasMutualToken(headers)) {
          ok++;
          lastWasOk = true;
        } else bump(errorKinds, 'noMutualToken');
      } else bump(errorKinds, `status${status}`);
    },
  };

  // A request whose connection the server closes without answering is retried by autocannon
  // with the next token and reported nowhere: per client, a request sent while the previous one
  // is still unanswered means the previous one was lost. A timeout also sends the next request
  // first and only then emits `timeout`, so that case is taken back when the timeout follows.
  let lost = 0;
  /** @param {import('node:events').EventEmitter} client */
  const setupClient = (client) => {
    let pending = false;
    let lostJustNow = false;
    client.on('request', () => {
      lostJustNow = pending;
      if (pending) lost++;
      pending = true;
    });
    client.on('response', () => {
      pending = false;
      lostJustNow = false;
    });
    client.on('connError', () => {
      pending = false; // counted as socketError through reqError
      lostJustNow = false;
    });
    client.on('timeout', () => {
      if (lostJustNow)
        lost--; // counted as timeout through reqError; the new request is pending
      else pending = false;
      lostJustNow = false;
    });
  };

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Without a callback autocannon returns its event emitter made thenable (resolves with the result).
  const instance = autocannon({
    url: o.url,
    connections,
    pipelining: 1,
    duration: o.durationS,
    maxOverallRequests: limit,
    timeout: o.timeoutS ?? 5,
    sampleInt: 50,
    setupClient,
    requests: [request],
  });
  instance.on('response', (_client, _status, _bytes, responseTimeMs) => {
    lastEventAt = performance.now();
    if (lastWasOk) latency.record(responseTimeMs);
    lastWasOk = false;
  });
  instance.on('reqError', (/** @type {Error & { code?: string }} */ err) => {
    lastEventAt = performance.now();
    bump(errorKinds, err.message === 'request timed out' ? 'timeout' : 'socketError');
  });
  /** @type {any} */
  const result = await instance;
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  // Up to the last completion (autocannon may idle until its next tick before resolving), but
  // never past the time budget plus one timeout.
  const activeMs = lastEventAt > 0 ? Math.min(lastEventAt - t0, wallMs) : wallMs;

  if (lost > 0) errorKinds.closedWithoutResponse = (errorKinds.closedWithoutResponse ?? 0) + lost;
  const res = loadResult(o, { connections, ok, errorKinds, activeMs, latency, cpu });
  // Cross-check against autocannon's own counters: a mismatch means a response was missed.
  const acCompleted =
    (result['1xx'] ?? 0) + (result['2xx'] ?? 0) + (result['3xx'] ?? 0) + (result['4xx'] ?? 0) + (result['5xx'] ?? 0);
  if (acCompleted !== completed)
    process.emitWarning(`runHttpLoad: autocannon counted ${acCompleted} responses, onResponse saw ${completed}`);
  return res;
}
