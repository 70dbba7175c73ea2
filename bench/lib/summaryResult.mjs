// The result every load generator reports (LoadResult, typed in bench/lib/httpLoad.mjs): from a
// run's counts, and from a C generator's JSON summary.

/**
 * A LoadResult from a run's counts, whichever generator made them: rps counts only successes
 * over the active time, which is rounded to the millisecond.
 * @param {{ scenario: string, serverName: string }} o
 * @param {{ connections: number, durationS: number, requests: number, ok: number, errors: number,
 *   errorKinds: Record<string, number>, latencyMs: import('./httpLoad.mjs').Latency, loadgenCpuS: number }} c
 * @returns {import('./httpLoad.mjs').LoadResult}
 */
export function loadResultOf(o, c) {
  return {
    scenario: o.scenario,
    server: o.serverName,
    connections: c.connections,
    durationS: Math.round(c.durationS * 1000) / 1000,
    requests: c.requests,
    ok: c.ok,
    errors: c.errors,
    errorKinds: c.errorKinds,
    rps: c.durationS > 0 ? Math.round(c.ok / c.durationS) : 0,
    latencyMs: c.latencyMs,
    loadgenCpuS: c.loadgenCpuS,
  };
}

/**
 * The LoadResult of a C load generator's JSON summary (wrk's through wrk-tokens.lua, and
 * bench/tcpload/sspi_load.c): latency in µs, every started request not ok is an error.
 * @param {{ scenario: string, serverName: string, connections: number }} o
 * @param {{ durationUs: number, requests: number, ok: number, p50Us: number, p90Us: number, p99Us: number,
 *   maxUs: number }} s
 * @param {Record<string, number>} errorKinds
 * @param {number} loadgenCpuS
 * @returns {import('./httpLoad.mjs').LoadResult}
 */
export function summaryResult(o, s, errorKinds, loadgenCpuS) {
  return loadResultOf(o, {
    connections: o.connections,
    durationS: s.durationUs / 1e6,
    requests: s.requests,
    ok: s.ok,
    errors: s.requests - s.ok,
    errorKinds,
    latencyMs: { p50: s.p50Us / 1000, p90: s.p90Us / 1000, p99: s.p99Us / 1000, max: s.maxUs / 1000 },
    loadgenCpuS,
  });
}
