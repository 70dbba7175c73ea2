/**
 * The variant groups of `npm run bench` (bench/run.mjs; docs/benchmarks.md, "Variants"): their
 * definitions, and the servers, phases and comparisons each selected group adds to a run. The
 * servers of all groups start together; a variant that cannot start is recorded as skipped with
 * the reason, never fatal.
 */
import { startOurs } from './ours.mjs';
import { runLiveLoad } from './liveLoad.mjs';
import { runTcpLoad } from './tcpLoad.mjs';

/** The variant groups `--variants` selects from. */
export const GROUPS = {
  pool: 'worker pool size (--workers 1, 2, 4), HTTP',
  rcache: 'replay cache (default file, none, file on tmpfs, in-memory), HTTP and the C ceiling',
  mech: 'SPNEGO vs raw Kerberos tokens, tcp-gss-sample and the C ceiling',
  ntlm: 'NTLM (raw, 3 legs) vs Kerberos from a live initiator, tcp-sspi',
  mainthread: 'the addon called on the main thread (no pool) vs negotiate-server, HTTP',
  engine: 'HTTP engine: node:http through the adapter (--http-engine node) vs uWS, HTTP',
  handoff:
    'pool hand-off: Piscina (--pool-handoff piscina) vs the native queue (the default), HTTP; ' +
    'and the no-op micro-benchmark',
};

// ---- Variant definitions (data-driven: one line per variant) ----

/** Connections for the pool, replay-cache and mech variants. */
const VARIANT_CONNS = 16;
/** Our main server's pool size: the baseline of the pool variants. */
export const BASE_WORKERS = 2;
/** Pool sizes tried besides BASE_WORKERS. */
const POOL_SIZES = [1, 4];
/**
 * Replay-cache modes besides the baseline (`default`: MIT's file cache in the realm's
 * KRB5RCACHEDIR, on disk here, measured by the main phases). `server`: our CLI's
 * --replay-cache value; `ceiling`: accept_loop's --rcache value, or null when the mode is not
 * an MIT replay cache type. Both get the scratch tmpfs directory (undefined without /dev/shm:
 * the mode is skipped). A value this build of the server does not accept is skipped with the
 * reason the server gives at start.
 * @type {Array<{ key: string, what: string, server: (shm?: string) => string | undefined, ceiling: ((shm?: string) =>
 *   string | undefined) | null }>}
 */
const RCACHE_MODES = [
  { key: 'none', what: 'none (replays accepted)', server: () => 'none', ceiling: () => 'none' },
  {
    key: 'tmpfs',
    what: 'file on tmpfs (/dev/shm)',
    server: (shm) => shm && `file:${shm}/server.rcache2`,
    ceiling: (shm) => shm && `file2:${shm}/ceiling.rcache2`,
  },
  { key: 'memory', what: 'in-memory (negotiate-server)', server: () => 'memory', ceiling: null },
];
/** Live-initiator mechanisms for the ntlm group; the last is the baseline. */
const LIVE_MECHS = [
  { key: 'ntlm', what: 'NTLM (raw, 3 legs)' },
  { key: 'spnego', what: 'Kerberos (SPNEGO, 2 legs)' },
];
const MAINTHREAD_CONNS = [1, VARIANT_CONNS];

/** The C ceiling's row name in the report. */
export const CEILING = 'C ceiling (2 threads)';

/**
 * Adds the selected groups' servers (started through `start`), phases, ceiling runs and
 * comparisons to the run's lists, and sorts them for a stable report.
 * @param {any} ctx what bench/run.mjs's main() holds: selected, quick, ours, env, realm, shm,
 *   start, unavailable, phases, comparisons, skipped, ceilings, httpPhase, oursRow, hasPhase,
 *   variantDurationS, httpConns.
 */
export async function setUpVariants(ctx) {
  const { selected, quick, ours, env, realm, shm, start, unavailable } = ctx;
  const { phases, comparisons, skipped, ceilings, httpPhase, oursRow, hasPhase, httpConns } = ctx;
  const vd = ctx.variantDurationS;
  const NTLM_CONNS = quick ? [VARIANT_CONNS] : [1, VARIANT_CONNS];
  if (selected.size > 0 && !ours) {
    for (const g of selected)
      skipped.push({
        group: g,
        what: 'all',
        reason: `negotiate-server did not start: ${unavailable['negotiate-server']}`,
      });
  } else if (selected.size > 0) {
    /** @type {Array<Promise<void>>} */
    const starting = [];
    /**
     * Starts a variant's server: `use` adds its phases once it is up; if it does not start, the
     * group records why (`what` names the variant in the report).
     * @param {string} group @param {string} what @param {string} name
     * @param {() => Promise<any>} startServer @param {boolean} verify @param {(s: any) => void} use
     */
    const startVariant = (group, what, name, startServer, verify, use) => {
      starting.push(
        start(name, startServer, verify).then((s) => {
          if (!s) return void skipped.push({ group, what, reason: unavailable[name] ?? 'did not start' });
          use(s);
        }),
      );
    };
    /**
     * A server of ours (startOurs options `opts` over the baseline's) measured over HTTP at
     * `conns` against our main server.
     * @param {{ group: string, name: string, opts: object, variant: string, what: string,
     *   whatFailed?: string, conns: number[] }} v
     */
    const httpVariant = ({ group, name, opts, variant, what, whatFailed = what, conns }) =>
      startVariant(
        group,
        whatFailed,
        name,
        () => startOurs({ env, keytab: realm.keytab, workers: BASE_WORKERS, ...opts }),
        true,
        (s) => {
          for (const c of conns) {
            phases.push(httpPhase(s, c, { serverName: 'negotiate-server', variant, group, durationS: vd }));
            comparisons.push({
              group,
              what,
              row: { scenario: 'http', server: 'negotiate-server', variant, connections: c },
              baseline: oursRow('http', c),
            });
          }
        },
      );
    if (selected.has('pool')) {
      for (const w of POOL_SIZES) {
        httpVariant({
          group: 'pool',
          name: `negotiate-server --workers ${w}`,
          opts: { workers: w },
          variant: `workers=${w}`,
          what: `${w} worker${w === 1 ? '' : 's'}`,
          conns: [VARIANT_CONNS],
        });
      }
    }
    if (selected.has('rcache')) {
      for (const m of RCACHE_MODES) {
        const value = m.server(shm);
        if (!value) {
          skipped.push({ group: 'rcache', what: m.what, reason: 'no /dev/shm on this machine' });
          continue;
        }
        httpVariant({
          group: 'rcache',
          name: `negotiate-server --replay-cache ${m.key}`,
          opts: { replayCache: value },
          variant: `rcache=${m.key}`,
          what: m.what,
          conns: [VARIANT_CONNS],
        });
        if (m.ceiling === null) {
          skipped.push({
            group: 'rcache',
            what: `${m.what}, C ceiling`,
            reason: 'not an MIT replay cache type: accept_loop cannot use it',
          });
        } else {
          const cv = m.ceiling(shm);
          if (!cv) continue;
          ceilings.push({ variant: `rcache=${m.key}`, group: 'rcache', rcache: cv, mech: 'spnego' });
          comparisons.push({
            group: 'rcache',
            what: `${m.what}, C ceiling`,
            row: { scenario: 'accept-loop', server: CEILING, variant: `rcache=${m.key}`, connections: 2 },
            baseline: { scenario: 'accept-loop', server: CEILING, connections: 2 },
          });
        }
      }
    }
    if (selected.has('engine')) {
      httpVariant({
        group: 'engine',
        name: 'negotiate-server --http-engine node',
        opts: { extraArgs: ['--http-engine', 'node'] },
        variant: 'engine=node',
        what: 'node:http through the adapter',
        whatFailed: 'node:http engine',
        conns: httpConns,
      });
    }
    if (selected.has('handoff')) {
      httpVariant({
        group: 'handoff',
        name: 'negotiate-server --pool-handoff piscina',
        opts: { extraArgs: ['--pool-handoff', 'piscina'] },
        variant: 'handoff=piscina',
        what: 'Piscina hand-off (a Piscina task per batch)',
        whatFailed: 'Piscina hand-off',
        conns: httpConns,
      });
    }
    if (selected.has('ntlm')) {
      const name = 'negotiate-server --ntlm';
      startVariant(
        'ntlm',
        'NTLM and Kerberos, live initiator',
        name,
        () => startOurs({ env, keytab: realm.keytab, workers: BASE_WORKERS, extraArgs: ['--ntlm'] }),
        true,
        (s) => {
          const base = /** @type {{ key: string }} */ (LIVE_MECHS.at(-1)).key;
          for (const c of NTLM_CONNS) {
            for (const m of LIVE_MECHS) {
              phases.push({
                scenario: 'tcp-sspi live',
                server: s,
                serverName: name,
                variant: `mech=${m.key}`,
                group: 'ntlm',
                connections: c,
                service: 'host@localhost',
                mech: null,
                durationS: vd,
                run: () =>
                  runLiveLoad({
                    env,
                    port: s.ports.sspi,
                    mech: /** @type {any} */ (m.key),
                    connections: c,
                    durationS: vd,
                    maxHandshakes: 100_000,
                    serverName: name,
                    scenario: 'tcp-sspi live',
                  }),
              });
              if (m.key !== base) {
                comparisons.push({
                  group: 'ntlm',
                  what: m.what,
                  row: { scenario: 'tcp-sspi live', server: name, variant: `mech=${m.key}`, connections: c },
                  baseline: { scenario: 'tcp-sspi live', server: name, variant: `mech=${base}`, connections: c },
                });
              }
            }
            // The live Kerberos client next to the pre-generated tokens of the main phases.
            comparisons.push({
              group: 'ntlm',
              what: 'Kerberos (SPNEGO), live initiator vs pre-generated tokens',
              row: { scenario: 'tcp-sspi live', server: name, variant: `mech=${base}`, connections: c },
              baseline: oursRow('tcp-sspi', c),
            });
          }
        },
      );
    }
    if (selected.has('mainthread')) {
      const name = 'addon on the main thread (no pool)';
      startVariant(
        'mainthread',
        'addon on the main thread',
        name,
        async () => (await import('./mainThreadServer.mjs')).startMainThread({ env, keytab: realm.keytab }),
        false,
        (s) => {
          for (const c of MAINTHREAD_CONNS) {
            phases.push(httpPhase(s, c, { group: 'mainthread', durationS: vd }));
            comparisons.push({
              group: 'mainthread',
              what: 'addon on the main thread, no pool',
              row: { scenario: 'http', server: name, connections: c },
              baseline: oursRow('http', c),
            });
          }
        },
      );
    }
    if (selected.has('mech')) {
      phases.push({
        scenario: 'tcp-gss-sample',
        server: ours,
        serverName: 'negotiate-server',
        variant: 'tokens=raw krb5',
        group: 'mech',
        connections: VARIANT_CONNS,
        service: 'host@localhost',
        mech: 'krb5',
        durationS: vd,
        run: (tokens) =>
          runTcpLoad({
            host: '127.0.0.1',
            port: ours.ports.gssSample,
            framing: 'gss-sample',
            tokens,
            connections: VARIANT_CONNS,
            durationS: vd,
            maxRequests: tokens.length,
            serverName: 'negotiate-server',
            scenario: 'tcp-gss-sample',
          }),
      });
      comparisons.push({
        group: 'mech',
        what: 'raw krb5 AP-REQ (no SPNEGO)',
        row: {
          scenario: 'tcp-gss-sample',
          server: 'negotiate-server',
          variant: 'tokens=raw krb5',
          connections: VARIANT_CONNS,
        },
        baseline: oursRow('tcp-gss-sample', VARIANT_CONNS),
      });
      ceilings.push({ variant: 'tokens=raw krb5', group: 'mech', rcache: 'default', mech: 'krb5' });
      comparisons.push({
        group: 'mech',
        what: 'raw krb5 AP-REQ (no SPNEGO), C ceiling',
        row: { scenario: 'accept-loop', server: CEILING, variant: 'tokens=raw krb5', connections: 2 },
        baseline: { scenario: 'accept-loop', server: CEILING, connections: 2 },
      });
    }
    await Promise.all(starting);
    // Baselines the main phases do not measure in this mode (e.g. http c=1 with --quick).
    for (const c of comparisons) {
      const b = c.baseline;
      if (b.scenario === 'http' && b.server === 'negotiate-server' && !b.variant && !hasPhase(b))
        phases.push(httpPhase(ours, b.connections, { durationS: vd }));
    }
    // Servers start concurrently, so comparisons arrive in any order: sort them for a stable report.
    const gi = (/** @type {string} */ g) => Object.keys(GROUPS).indexOf(g);
    // (Stable sort: within a group, the order the definitions above push them in.)
    const ckey = (/** @type {(typeof comparisons)[number]} */ c) => {
      const workers = c.row.variant?.startsWith('workers=') ? c.row.variant.padStart(12, '0') : '';
      return `${gi(c.group)}|${c.row.scenario === 'accept-loop' ? 1 : 0}|${workers}`;
    };
    comparisons.sort((a, b) => ckey(a).localeCompare(ckey(b)));
    skipped.sort((a, b) => gi(a.group) - gi(b.group));
    // The order the variants were started in is random: sort them for a stable layout.
    const key = (/** @type {{ group?: string, scenario: string, variant?: string, connections: number }} */ p) =>
      `${p.group ?? ''}|${p.scenario}|${p.variant ?? ''}|${String(p.connections).padStart(4, '0')}`;
    const main = phases.filter((p) => !p.group);
    const variants = phases.filter((p) => p.group).sort((a, b) => key(a).localeCompare(key(b)));
    phases.splice(0, phases.length, ...main, ...variants);
  }
}
