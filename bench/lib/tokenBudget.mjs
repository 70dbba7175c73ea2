/**
 * How many fresh tokens a bench phase gets (bench/run.mjs): generating tokens no phase uses costs
 * the run time, and a phase that runs out counts errors instead of handshakes.
 */

/**
 * Handshakes per second a wrk phase gets tokens for, whatever the connection count: wrk runs its
 * whole duration whatever is left, and a phase that ran out would count its later requests as
 * errors. Our server passed 12,000/s under wrk (the run of 2026-12-04 23:49 ran out at 16
 * connections); the C ceiling on these 2 cores is ~26,000–31,000 accepts/s.
 */
export const WRK_TOKENS_PER_S = 20_000;

/**
 * @param {boolean} quick a quick run (smaller caps)
 * @returns {{ phaseBudget: (key: string, conns: number, seconds: number, timed?: boolean) => number,
 *   fastest: Map<string, number> }} the budget of a phase, and the fastest rate seen per phase key (the caller
 *   records each phase's rate there)
 */
export function tokenBudgets(quick) {
  /**
   * Tokens per phase: for 16 connections and more, enough for 12,000 handshakes/s over the whole
   * phase (more than any server does under autocannon here); 1 connection gets 4,000, which
   * bounds those phases to ~1–2 s (autocannon stops when they run out). wrk phases (`timed`)
   * get WRK_TOKENS_PER_S at every connection count, up to 120,000.
   */
  const tokenBudget = (/** @type {number} */ conns, /** @type {number} */ seconds, timed = false) =>
    timed
      ? Math.min(quick ? 30_000 : 120_000, Math.max(4000, Math.ceil(WRK_TOKENS_PER_S * seconds)))
      : Math.min(quick ? 30_000 : 80_000, Math.max(4000, conns * 1500, conns >= 16 ? Math.ceil(12_000 * seconds) : 0));
  /**
   * After a phase has run once, its later rounds get at most twice what its fastest round could
   * use (never more than tokenBudget): generating tokens no phase uses cost the full run ~1 s per
   * 64-connection phase.
   * @type {Map<string, number>} phase key -> fastest handshakes/s seen
   */
  const fastest = new Map();
  const phaseBudget = (
    /** @type {string} */ key,
    /** @type {number} */ conns,
    /** @type {number} */ seconds,
    /** wrk runs for its whole duration: a phase whose tokens ran out would count 401s, not stop. */
    timed = false,
  ) => {
    const seen = fastest.get(key);
    const cap = tokenBudget(conns, seconds, timed);
    return seen === undefined ? cap : Math.min(cap, Math.max(4000, Math.ceil(seen * seconds * 2)));
  };
  return { phaseBudget, fastest };
}
