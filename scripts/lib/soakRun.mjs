// The soak itself: a throwaway realm, the server in a child process (tools/serverHost.mjs)
// so its memory is measured alone, and `count` conversations from `concurrency` client loops,
// a weighted mix of good handshakes and deliberate failures (scripts/lib/soakScenarios.mjs).
// Bounded by count and by time. The verdict compares the server's context counters and RSS at
// the end with a baseline taken after a warm-up, once every connection has closed.
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ThrowawayRealm } from '../../dist/src/index.js';
import { HostedServer } from '../../tools/hostedServer.mjs';
import { NtlmInitiators } from './ntlmInitiator.mjs';
import { TokenSupply } from './tokenSupply.mjs';
import * as S from './soakScenarios.mjs';

/**
 * @typedef {object} SoakOptions
 * @property {number} count            conversations to run (warm-up included)
 * @property {number} timeLimitS       stop issuing new conversations after this many seconds
 * @property {number} concurrency      client loops
 * @property {boolean} ntlm            enable NTLM on the server and mix NTLM handshakes in
 * @property {string[]} [only]         run only these scenarios of the mix (to find which one leaks)
 * @property {number} workers          server worker threads
 * @property {number} maxRssGrowthMb   allowed RSS growth, end vs baseline (after a full GC)
 * @property {number} maxLateRssGrowthMb  allowed RSS growth over the second half of the run:
 *   the process's allocators settle in the first thousands of handshakes (a one-time step of
 *   ~30 MB here), after which a leak shows as growth that continues
 * @property {number} maxUnexpected    conversations allowed to end unexpectedly
 * @property {number} progressEveryS   progress line period (stderr)
 * @property {number} warmup           conversations before the baseline
 * @property {number} stepTimeoutMs    bound of every client wait
 * @property {(line: string) => void} log
 */

/**
 * The mix, in parts per 1000. Good handshakes dominate (they create and free the contexts a
 * leak would keep); failures exercise every path that frees a context early.
 * @type {Array<{ name: string, weight: number, ntlm?: boolean, run: (ctx: S.ScenarioContext) => Promise<S.Outcome> }>}
 */
const MIX = [
  { name: 'spnego-sspi', weight: 300, run: (ctx) => S.kerberosSspi(ctx, 'spnego') },
  { name: 'krb5-sspi', weight: 100, run: (ctx) => S.kerberosSspi(ctx, 'krb5') },
  { name: 'krb5-gss', weight: 200, run: (ctx) => S.kerberosGssSample(ctx, 'krb5') },
  { name: 'spnego-gss', weight: 150, run: (ctx) => S.kerberosGssSample(ctx, 'spnego') },
  { name: 'ntlm-gss', weight: 5, ntlm: true, run: (ctx) => S.ntlmGssSample(ctx, 'ntlm') },
  { name: 'spnego-ntlm-gss', weight: 5, ntlm: true, run: (ctx) => S.ntlmGssSample(ctx, 'spnego-ntlm') },
  { name: 'garbage-sspi', weight: 45, run: (ctx) => S.garbageToken(ctx, 'sspi') },
  { name: 'garbage-gss', weight: 35, run: (ctx) => S.garbageToken(ctx, 'gss') },
  { name: 'replay-sspi', weight: 35, run: (ctx) => S.replayedToken(ctx, 'sspi') },
  { name: 'replay-gss', weight: 25, run: (ctx) => S.replayedToken(ctx, 'gss') },
  { name: 'truncated-sspi', weight: 40, run: (ctx) => S.truncatedFrame(ctx) },
  { name: 'abandon-token-sspi', weight: 15, run: (ctx) => S.abandonAfterToken(ctx, 'sspi') },
  { name: 'abandon-token-gss', weight: 15, run: (ctx) => S.abandonAfterToken(ctx, 'gss') },
  { name: 'abandon-connect', weight: 30, run: (ctx) => S.abandonAtConnect(ctx) },
];

/** Deterministic PRNG (mulberry32), so a run's mix is reproducible from its seed. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MB = 1024 * 1024;
const LIVE_FIELDS = /** @type {const} */ (['live', 'handshaking', 'established', 'inUse', 'queued']);

/**
 * What the clients saw, summed the way the verdict compares it with the server's counters.
 * @param {Record<string, { ok: number, rejected: number, abandoned: number, unexpected: number }>} by
 */
function snapshot(by) {
  const sum = (/** @type {(name: string) => boolean} */ f, /** @type {'ok' | 'rejected' | 'abandoned'} */ k) =>
    Object.entries(by).reduce((a, [name, t]) => a + (f(name) ? t[k] : 0), 0);
  return {
    good: sum((n) => !/^(garbage|replay|truncated|abandon)/.test(n), 'ok'),
    refusedTokens: sum((n) => /^(garbage|replay)/.test(n), 'rejected'),
    abandonedWithToken: sum((n) => n.startsWith('abandon-token'), 'abandoned'),
  };
}

/** @param {ReturnType<typeof snapshot>} a @param {ReturnType<typeof snapshot>} b */
function diff(a, b) {
  return { good: a.good - b.good, refusedTokens: a.refusedTokens - b.refusedTokens, abandonedWithToken: a.abandonedWithToken - b.abandonedWithToken };
}

/**
 * Waits (bounded) until the server has no connection and no context beyond `baselineLive`.
 * @param {HostedServer} host @param {number} baselineLive @param {number} timeoutMs
 */
async function quiesce(host, baselineLive, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let s = await host.stats();
  while (Date.now() < deadline) {
    const conns = Object.values(s.connections).reduce((a, b) => a + b, 0);
    if (conns === 0 && s.pool.live === baselineLive && s.pool.inUse === 0 && s.pool.queued === 0) return s;
    await new Promise((r) => setTimeout(r, 50));
    s = await host.stats();
  }
  return s;
}

/**
 * @param {SoakOptions} o
 * @returns {Promise<{ ok: boolean, exitCode: number, report: Record<string, unknown> }>}
 */
export async function runSoak(o) {
  const started = Date.now();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-soak-'));
  /** @type {ThrowawayRealm | undefined} */
  let realm;
  /** @type {HostedServer | undefined} */
  let host;
  /** @type {NtlmInitiators | undefined} */
  let ntlm;
  try {
    realm = await ThrowawayRealm.create({ dir });
    const env = realm.env();
    host = await HostedServer.start({
      // The acceptor's process-wide settings only: the server needs no password or ccache.
      env: { KRB5_CONFIG: env.KRB5_CONFIG, KRB5RCACHEDIR: env.KRB5RCACHEDIR, NTLM_USER_FILE: env.NTLM_USER_FILE },
      options: { keytab: realm.keytab, ntlm: o.ntlm, workers: o.workers },
    });
    const serverHost = host;
    ntlm = o.ntlm ? new NtlmInitiators(env) : undefined;
    const batch = Math.min(10_000, Math.max(500, Math.ceil(o.count / 8)));
    /** @type {S.ScenarioContext} */
    const ctx = {
      ports: { sspi: host.port('sspi'), gss: host.port('gss-sample') },
      tokens: { spnego: new TokenSupply({ env, mech: 'spnego', batch }), krb5: new TokenSupply({ env, mech: 'krb5', batch }) },
      ntlm,
      accepted: [],
      timeoutMs: o.stepTimeoutMs,
    };
    const mix = MIX.filter((m) => (o.ntlm || !m.ntlm) && (!o.only || o.only.includes(m.name)));
    if (mix.length === 0) throw new Error(`no scenario left to run; the mix: ${MIX.map((m) => m.name).join(', ')}`);
    const total = mix.reduce((a, m) => a + m.weight, 0);
    const rng = mulberry32(0x50a4);
    const pick = () => {
      let x = rng() * total;
      for (const m of mix) {
        x -= m.weight;
        if (x < 0) return m;
      }
      return /** @type {(typeof mix)[number]} */ (mix.at(-1));
    };

    /** @type {Record<string, { ok: number, rejected: number, abandoned: number, unexpected: number }>} */
    const byScenario = Object.fromEntries(mix.map((m) => [m.name, { ok: 0, rejected: 0, abandoned: 0, unexpected: 0 }]));
    /** @type {string[]} */
    const firstErrors = [];
    let issued = 0;
    let finished = 0;
    let unexpected = 0;
    let stoppedBy = 'count';
    const deadline = started + o.timeLimitS * 1000;

    /** Runs client loops until `limit` conversations were issued (or time is up). */
    const drive = async (limit) => {
      const loop = async () => {
        while (issued < limit) {
          if (Date.now() > deadline) {
            stoppedBy = 'time';
            return;
          }
          issued += 1;
          const m = pick();
          const tally = /** @type {{ ok: number, rejected: number, abandoned: number, unexpected: number }} */ (byScenario[m.name]);
          try {
            tally[await m.run(ctx)] += 1;
          } catch (err) {
            tally.unexpected += 1;
            unexpected += 1;
            if (firstErrors.length < 10) firstErrors.push(`${m.name}: ${err instanceof Error ? err.message : String(err)}`);
          }
          finished += 1;
        }
      };
      await Promise.all(Array.from({ length: o.concurrency }, loop));
    };

    let peakRss = 0;
    let lastLive = 0;
    let lastFinished = 0;
    let lastAt = Date.now();
    const progress = setInterval(() => {
      serverHost
        .stats()
        .then((s) => {
          peakRss = Math.max(peakRss, s.memory.rss);
          lastLive = s.pool.live;
          const now = Date.now();
          const rate = ((finished - lastFinished) * 1000) / Math.max(1, now - lastAt);
          lastFinished = finished;
          lastAt = now;
          o.log(
            `soak: ${finished}/${o.count} in ${((now - started) / 1000).toFixed(0)} s, ${rate.toFixed(0)}/s, unexpected ${unexpected}, ` +
              `server rss ${(s.memory.rss / MB).toFixed(1)} MB, contexts live ${lastLive}, connections ${JSON.stringify(s.connections)}`,
          );
        })
        .catch((err) => o.log(`soak: stats failed: ${err instanceof Error ? err.message : String(err)}`));
    }, o.progressEveryS * 1000);

    try {
      const warmup = Math.min(o.warmup, o.count);
      await drive(warmup);
      const warm = await quiesce(host, 0, 10_000);
      const baseline = await host.stats({ gc: true });
      peakRss = Math.max(peakRss, warm.memory.rss, baseline.memory.rss);
      o.log(`soak: baseline after ${warmup} warm-up conversations: rss ${(baseline.memory.rss / MB).toFixed(1)} MB, live ${baseline.pool.live}`);
      const atBaseline = snapshot(byScenario);
      const measuredFrom = Date.now();
      const half = warmup + Math.floor((o.count - warmup) / 2);
      await drive(half);
      await quiesce(host, baseline.pool.live, 15_000);
      const mid = await host.stats({ gc: true });
      const finishedAtMid = finished;
      o.log(`soak: half-way (${finished}): rss ${(mid.memory.rss / MB).toFixed(1)} MB, live ${mid.pool.live}`);
      await drive(o.count);
      const driveMs = Date.now() - measuredFrom;
      const settled = await quiesce(host, baseline.pool.live, 15_000);
      peakRss = Math.max(peakRss, settled.memory.rss);
      const end = await host.stats({ gc: true });

      /** @type {Record<string, number>} */
      const delta = {};
      for (const [k, v] of Object.entries(end.pool)) delta[k] = /** @type {number} */ (v) - /** @type {number} */ (baseline.pool[k]);
      const since = diff(snapshot(byScenario), atBaseline);
      const openConnections = Object.values(end.connections).reduce((a, b) => a + b, 0);

      /** @type {string[]} */
      const failures = [];
      for (const f of LIVE_FIELDS) {
        if (end.pool[f] !== baseline.pool[f]) failures.push(`${f} is ${end.pool[f]}, baseline ${baseline.pool[f]}`);
      }
      if (openConnections !== 0) failures.push(`${openConnections} connections still open: ${JSON.stringify(end.connections)}`);
      // The table's own books: every context created was freed one way or another.
      if (delta.created !== delta.failed + delta.released + delta.expired) {
        failures.push(`created ${delta.created} != failed ${delta.failed} + released ${delta.released} + expired ${delta.expired}`);
      }
      // Every good handshake completed a context on the server, and only those: plus at most the
      // clients that left right after their token (the accept may have run before the close).
      if (delta.completed < since.good || delta.completed > since.good + since.abandonedWithToken) {
        failures.push(`completed ${delta.completed}, expected ${since.good}..${since.good + since.abandonedWithToken} (good handshakes + abandoned after the token)`);
      }
      // Every refused token reached GSSAPI and failed there (a truncated frame never does).
      if (delta.failed < since.refusedTokens || delta.failed > since.refusedTokens + since.abandonedWithToken) {
        failures.push(`failed ${delta.failed}, expected ${since.refusedTokens}..${since.refusedTokens + since.abandonedWithToken} (garbage and replayed tokens)`);
      }
      const rssGrowth = end.memory.rss - baseline.memory.rss;
      const lateGrowth = end.memory.rss - mid.memory.rss;
      if (rssGrowth > o.maxRssGrowthMb * MB) failures.push(`RSS grew by ${(rssGrowth / MB).toFixed(1)} MB (bound ${o.maxRssGrowthMb} MB)`);
      if (lateGrowth > o.maxLateRssGrowthMb * MB) {
        failures.push(`RSS grew by ${(lateGrowth / MB).toFixed(1)} MB over the second half (bound ${o.maxLateRssGrowthMb} MB)`);
      }
      if (unexpected > o.maxUnexpected) failures.push(`${unexpected} conversations ended unexpectedly (bound ${o.maxUnexpected}); first: ${firstErrors.join(' | ')}`);
      if (!end.gcRan) failures.push('the server ran without --expose-gc: RSS is not comparable');

      const report = {
        ok: failures.length === 0 && stoppedBy === 'count',
        failures,
        stoppedBy,
        count: o.count,
        finished,
        warmup,
        concurrency: o.concurrency,
        workers: o.workers,
        ntlm: o.ntlm,
        scenarios: mix.map((m) => m.name),
        durationS: Number(((Date.now() - started) / 1000).toFixed(1)),
        measuredPhase: { conversations: finished - warmup, seconds: Number((driveMs / 1000).toFixed(1)), perSecond: Math.round(((finished - warmup) * 1000) / Math.max(1, driveMs)) },
        outcomes: { sinceBaseline: since, unexpected, byScenario, firstErrors },
        rss: {
          baselineMb: Number((baseline.memory.rss / MB).toFixed(1)),
          peakMb: Number((peakRss / MB).toFixed(1)),
          midMb: Number((mid.memory.rss / MB).toFixed(1)),
          endMb: Number((end.memory.rss / MB).toFixed(1)),
          growthMb: Number((rssGrowth / MB).toFixed(1)),
          boundMb: o.maxRssGrowthMb,
          lateGrowthMb: Number((lateGrowth / MB).toFixed(1)),
          lateBoundMb: o.maxLateRssGrowthMb,
          lateGrowthBytesPerConversation: Math.round(lateGrowth / Math.max(1, finished - finishedAtMid)),
          heapUsedBaselineMb: Number((baseline.memory.heapUsed / MB).toFixed(1)),
          heapUsedEndMb: Number((end.memory.heapUsed / MB).toFixed(1)),
          externalBaselineMb: Number((baseline.memory.external / MB).toFixed(1)),
          externalEndMb: Number((end.memory.external / MB).toFixed(1)),
        },
        counters: { baseline: baseline.pool, end: end.pool, delta },
        connections: end.connections,
        tokensGenerated: ctx.tokens.spnego.generated + ctx.tokens.krb5.generated,
      };
      return { ok: report.ok, exitCode: failures.length > 0 ? 1 : stoppedBy === 'time' ? 3 : 0, report };
    } finally {
      clearInterval(progress);
    }
  } finally {
    ntlm?.stop();
    await host?.close();
    await realm?.destroy();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
