// The result shape every load generator reports (LoadResult, bench/lib/httpLoad.mjs), from a C one's summary.

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
  const durationS = s.durationUs / 1e6;
  return {
    scenario: o.scenario,
    server: o.serverName,
    connections: o.connections,
    durationS: Math.round(durationS * 1000) / 1000,
    requests: s.requests,
    ok: s.ok,
    errors: s.requests - s.ok,
    errorKinds,
    rps: durationS > 0 ? Math.round(s.ok / durationS) : 0,
    latencyMs: { p50: s.p50Us / 1000, p90: s.p90Us / 1000, p99: s.p99Us / 1000, max: s.maxUs / 1000 },
    loadgenCpuS,
  };
}
