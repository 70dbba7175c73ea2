#!/usr/bin/env node
/**
 * `npm run bench` (from the repository root): handshakes per second of negotiate-server and its
 * peers, measured in one run on this machine.
 *
 *   node bench/run.mjs [--quick] [--rounds N] [--duration S] [--out DIR]
 *                      [--variants all|none|GROUP,...] [--variant-duration S]
 *
 * Variants (docs/benchmarks.md, "Variants"): pool (workers 1/2/4), rcache (replay caches),
 * mech (SPNEGO vs raw krb5 tokens), ntlm (NTLM vs Kerberos from a live initiator), mainthread
 * (the addon on the main thread, no pool). On by default in the full run, off with --quick
 * (`--quick --variants` runs them all at 16 connections); each is measured in the same rounds
 * as the main phases, interleaved with them, and reported next to its baseline.
 *
 * Method: a throwaway realm; every server started once and kept up; rounds interleave the
 * servers (the order rotates each round) so drift hits all alike; before each timed phase a
 * fresh set of distinct initiator tokens is generated (a reused token is a replay and counts
 * as an error); a second instance of our server (A/A) shows the noise floor; medians of the
 * rounds are reported. Server CPU is read from /proc for each server's whole process tree.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { cpuSeconds, rssMiB } from './lib/proc.mjs';
import { markdown, summarize, svgChart, variantsMarkdown } from './lib/report.mjs';
import { wrkMarkdown } from './lib/wrkReport.mjs';
import { startOurs } from './lib/ours.mjs';
import { curlNegotiate } from './lib/peerProcess.mjs';
import { runHandoffMicro } from './lib/handoffMicro.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The variant groups `--variants` selects from. */
const GROUPS = {
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

// A bare `--variants` (no value) means all of them.
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--variants' && (i + 1 === argv.length || String(argv[i + 1]).startsWith('--')))
    argv.splice(i + 1, 0, 'all');
}
const { values } = parseArgs({
  args: argv,
  options: {
    quick: { type: 'boolean' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    out: { type: 'string' },
    variants: { type: 'string' },
    'variant-duration': { type: 'string' },
  },
});
const quick = values.quick === true;
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const durationS = Number(values.duration ?? (quick ? 3 : 5));
/** Variant phases are shorter than the main ones, so the full run stays near 10 minutes. */
const variantDurationS = Number(values['variant-duration'] ?? (quick ? 2 : 3));
const outDir = path.resolve(values.out ?? path.join(here, 'results'));
const variantsArg = values.variants ?? (quick ? 'none' : 'all');
const selected = new Set(
  variantsArg === 'all'
    ? Object.keys(GROUPS)
    : variantsArg === 'none' || variantsArg === 'off'
      ? []
      : variantsArg.split(',').map((g) => g.trim()),
);
for (const g of selected) {
  if (!(g in GROUPS)) {
    process.stderr.write(
      `bench: unknown variant group ${JSON.stringify(g)}; use all, none, or a comma list of: ` +
        `${Object.keys(GROUPS).join(', ')}\n`,
    );
    process.exit(2);
  }
}
for (const [flag, v] of /** @type {Array<[string, number]>} */ ([
  ['--rounds', rounds],
  ['--duration', durationS],
  ['--variant-duration', variantDurationS],
])) {
  if (!(v > 0 && v <= 120)) {
    process.stderr.write(`bench: ${flag} must be a number in (0, 120]\n`);
    process.exit(2);
  }
}
const httpConns = quick ? [16] : [1, 16, 64];
const tcpConns = quick ? [16] : [1, 16, 64];
/**
 * Tokens per timed phase: for 16 connections and more, enough for 12,000 handshakes/s over the
 * whole phase (more than any server here does); 1 connection gets 4,000, which bounds those
 * phases to ~1–2 s (autocannon stops when they run out). wrk runs its whole duration whatever
 * is left, so its phases (`timed`) get the 12,000/s budget at every connection count.
 */
const tokenBudget = (/** @type {number} */ conns, /** @type {number} */ seconds, timed = false) =>
  Math.min(
    quick ? 30_000 : 80_000,
    Math.max(4000, conns * 1500, conns >= 16 || timed ? Math.ceil(12_000 * seconds) : 0),
  );
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
const deadline = Date.now() + (quick ? 115_000 : 630_000);
const startedAt = Date.now();

// ---- Variant definitions (data-driven: one line per variant) ----

/** Connections for the pool, replay-cache and mech variants. */
const VARIANT_CONNS = 16;
/** Our main server's pool size: the baseline of the pool variants. */
const BASE_WORKERS = 2;
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
const NTLM_CONNS = quick ? [VARIANT_CONNS] : [1, VARIANT_CONNS];
const MAINTHREAD_CONNS = [1, VARIANT_CONNS];

/** Our server with its defaults (info logs), measured by autocannon and wrk beside Apache. */
const OURS_DEFAULTS = 'negotiate-server (defaults)';
const APACHE = 'apache mod_auth_gssapi';
const log = (/** @type {string} */ msg) =>
  process.stderr.write(
    `[bench ${new Date().toISOString().slice(11, 19)} +${Math.round((Date.now() - startedAt) / 1000)}s] ${msg}\n`,
  );

async function main() {
  const dist = path.join(here, '..', 'dist', 'src', 'index.js');
  const { ThrowawayRealm } = await import(dist).catch(() => {
    throw new Error('the project is not built: run npm test (or bash scripts/setup.sh) first');
  });
  const build = spawnSync(process.execPath, [path.join(here, '..', 'tools', 'native', 'build.mjs')], {
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error('building tools/native failed');

  const { generateTokens } = await import('../tools/tokens.mjs');
  const { runHttpLoad } = await import('./lib/httpLoad.mjs');
  const { runWrkLoad } = await import('./lib/wrk.mjs');
  const { runTcpLoad } = await import('./lib/tcpLoad.mjs');
  const { runCeiling } = await import('./lib/ceiling.mjs');
  const { runLiveLoad } = await import('./lib/liveLoad.mjs');

  log(
    `${quick ? 'quick' : 'full'} run: ${rounds} round(s), ${durationS} s per main phase; variants: ` +
      `${selected.size ? `${[...selected].join(', ')} (${variantDurationS} s per phase)` : 'none'}`,
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-bench-'));
  // Scratch replay caches on tmpfs (the rcache variants).
  const shm = selected.has('rcache') && existsSync('/dev/shm') ? await mkdtemp('/dev/shm/negotiate-bench-') : undefined;
  const realm = await ThrowawayRealm.create({ dir: path.join(dir, 'realm') });
  const env = realm.env();
  log(`realm ${realm.realmName} in ${realm.dir}`);

  /**
   * @type {Array<{ name: string, pid: number, pids(): number[], ports: Record<string, number>, stop(): Promise<void>
   * }>}
   */
  const servers = [];
  /** @type {Record<string, string>} */
  const unavailable = {};
  const start = async (
    /** @type {string} */ name,
    /** @type {() => Promise<any>} */ fn,
    /** @type {boolean} */ verify = false,
  ) => {
    let s;
    try {
      s = await fn();
      s.name = name;
      servers.push(s);
      if (verify) {
        // One real handshake (curl --negotiate, mutual authentication) before the server is used.
        const r = await curlNegotiate(env, s.ports.http);
        if (r.status !== 200 || !r.mutual)
          throw new Error(
            `check handshake: curl --negotiate gave ` +
              `${r.status}${r.mutual ? '' : ' without a mutual-authentication token'}`,
          );
      }
      log(`started ${name} (pid ${s.pid}, ports ${JSON.stringify(s.ports)})`);
      return s;
    } catch (err) {
      if (s) {
        await s.stop().catch(() => undefined);
        servers.splice(servers.indexOf(s), 1);
      }
      unavailable[name] = String(/** @type {Error} */ (err).message ?? err);
      log(`${name} unavailable: ${unavailable[name]}`);
      return undefined;
    }
  };

  /** Variants that could not run, with the reason (reported, never fatal). */
  /** @type {Array<{ group: string, what: string, reason: string }>} */
  const skipped = [];
  /** Each variant's row and the baseline row it is compared with. */
  /**
   * @type {Array<{ group: string, what: string, row: { scenario: string, server: string, variant?: string,
   * connections: number }, baseline: { scenario: string, server: string, variant?: string, connections: number } }>}
   */
  const comparisons = [];

  const runs = [];
  try {
    const ours = await start(
      'negotiate-server',
      () => startOurs({ env, keytab: realm.keytab, workers: BASE_WORKERS }),
      true,
    );
    const oursAA = await start(
      'negotiate-server (A/A)',
      () => startOurs({ env, keytab: realm.keytab, workers: BASE_WORKERS }),
      true,
    );
    // As users run it (no tuning flags, info logging to a file): the instance the wrk phases measure.
    const oursDefaults = await start(
      OURS_DEFAULTS,
      () => startOurs({ env, keytab: realm.keytab, defaults: { logFile: path.join(dir, 'ours-defaults.log') } }),
      true,
    );
    const apache = await start(APACHE, async () =>
      (await import('./lib/apache.mjs')).startApache({
        env,
        keytab: realm.keytab,
        port: 0,
        rcache: 'default',
        dir: path.join(dir, 'apache'),
      }),
    );
    const knpm = await start('kerberos npm', async () =>
      (await import('./lib/kerberosNpm.mjs')).startKerberosNpm({ env, keytab: realm.keytab, port: 0 }),
    );
    // MIT's gss-server serves one connection at a time, with a listen backlog of 5 and no
    // timeouts: a load that gives up on it can leave it wedged for every later phase. So each of
    // its phases gets a fresh process (started below), and this one only checks it works.
    const { startGssServer } = await import('./lib/gssServer.mjs');
    const gssServer = await start('MIT gss-server', () => startGssServer({ env, keytab: realm.keytab, port: 0 }));
    if (gssServer) {
      await gssServer.stop();
      servers.splice(servers.indexOf(gssServer), 1);
    }

    /**
     * @typedef {{ scenario: string, server: any, serverName: string, variant?: string, group?: string,
     *   connections: number, service: string, mech: 'spnego' | 'krb5' | null, durationS: number,
     *   run: (tokens: Buffer[], server?: any) => Promise<any>, fresh?: () => Promise<any> }} Phase
     */
    /** @type {Phase[]} */
    const phases = [];
    const httpPhase = (/** @type {any} */ s, /** @type {number} */ c, /** @type {Partial<Phase>} */ extra = {}) => {
      const d = extra.durationS ?? durationS;
      return /** @type {Phase} */ ({
        scenario: 'http',
        server: s,
        serverName: s.name,
        connections: c,
        service: 'HTTP@localhost',
        mech: 'spnego',
        durationS: d,
        ...extra,
        run: (tokens) =>
          runHttpLoad({
            url: `http://localhost:${s.ports.http}/whoami`,
            tokens,
            connections: c,
            durationS: d,
            maxRequests: tokens.length,
            serverName: s.name,
            scenario: 'http',
          }),
      });
    };
    for (const c of httpConns) {
      for (const s of [ours, oursAA, oursDefaults, apache, knpm]) {
        if (!s) continue;
        phases.push(httpPhase(s, c));
      }
      // wrk beside autocannon: the cheaper load generator leaves the servers more of the 2 cores.
      for (const s of [oursDefaults, apache]) {
        if (!s) continue;
        phases.push({
          ...httpPhase(s, c),
          scenario: 'http-wrk',
          run: (tokens) =>
            runWrkLoad({
              url: `http://localhost:${s.ports.http}/whoami`,
              tokens,
              connections: c,
              durationS,
              serverName: s.name,
              scenario: 'http-wrk',
            }),
        });
      }
    }
    for (const c of tcpConns) {
      for (const s of [ours, oursAA]) {
        if (!s) continue;
        phases.push({
          scenario: 'tcp-sspi',
          server: s,
          serverName: s.name,
          connections: c,
          service: 'host@localhost',
          mech: 'spnego',
          durationS,
          run: (tokens) =>
            runTcpLoad({
              host: '127.0.0.1',
              port: s.ports.sspi,
              framing: 'sspi',
              tokens,
              connections: c,
              durationS,
              maxRequests: tokens.length,
              serverName: s.name,
              scenario: 'tcp-sspi',
            }),
        });
      }
      for (const s of [ours, gssServer]) {
        if (!s) continue;
        phases.push({
          scenario: 'tcp-gss-sample',
          server: s,
          serverName: s.name,
          connections: c,
          service: 'host@localhost',
          mech: 'spnego',
          durationS,
          fresh:
            s === gssServer
              ? () =>
                  startGssServer({ env, keytab: realm.keytab, port: 0 }).then((f) => Object.assign(f, { name: s.name }))
              : undefined,
          run: (tokens, srv = s) =>
            runTcpLoad({
              host: '127.0.0.1',
              port: srv.ports.gssSample,
              framing: 'gss-sample',
              tokens,
              connections: c,
              durationS,
              maxRequests: tokens.length,
              serverName: s.name,
              scenario: 'tcp-gss-sample',
            }),
        });
      }
    }
    /** Ceiling runs of every round: the main one, then the variants'. */
    /** @type {Array<{ variant?: string, group?: string, rcache: string, mech: 'spnego' | 'krb5' }>} */
    const ceilings = [{ rcache: 'default', mech: 'spnego' }];
    const CEILING = 'C ceiling (2 threads)';
    const oursRow = (/** @type {string} */ scenario, /** @type {number} */ c) => ({
      scenario,
      server: 'negotiate-server',
      connections: c,
    });
    const hasPhase = (/** @type {{ scenario: string, server: string, variant?: string, connections: number }} */ k) =>
      phases.some(
        (p) =>
          p.scenario === k.scenario &&
          p.serverName === k.server &&
          p.variant === k.variant &&
          p.connections === k.connections,
      );
    const vd = variantDurationS;

    // ---- Variants: servers (started together), phases, comparisons ----
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
      if (selected.has('pool')) {
        for (const w of POOL_SIZES) {
          const name = `negotiate-server --workers ${w}`;
          starting.push(
            start(name, () => startOurs({ env, keytab: realm.keytab, workers: w }), true).then((s) => {
              const what = `${w} worker${w === 1 ? '' : 's'}`;
              if (!s) return void skipped.push({ group: 'pool', what, reason: unavailable[name] ?? 'did not start' });
              phases.push(
                httpPhase(s, VARIANT_CONNS, {
                  serverName: 'negotiate-server',
                  variant: `workers=${w}`,
                  group: 'pool',
                  durationS: vd,
                }),
              );
              comparisons.push({
                group: 'pool',
                what,
                row: {
                  scenario: 'http',
                  server: 'negotiate-server',
                  variant: `workers=${w}`,
                  connections: VARIANT_CONNS,
                },
                baseline: oursRow('http', VARIANT_CONNS),
              });
            }),
          );
        }
      }
      if (selected.has('rcache')) {
        for (const m of RCACHE_MODES) {
          const value = m.server(shm);
          const name = `negotiate-server --replay-cache ${m.key}`;
          if (!value) {
            skipped.push({ group: 'rcache', what: m.what, reason: 'no /dev/shm on this machine' });
            continue;
          }
          starting.push(
            start(
              name,
              () => startOurs({ env, keytab: realm.keytab, workers: BASE_WORKERS, replayCache: value }),
              true,
            ).then((s) => {
              if (!s)
                return void skipped.push({
                  group: 'rcache',
                  what: m.what,
                  reason: unavailable[name] ?? 'did not start',
                });
              phases.push(
                httpPhase(s, VARIANT_CONNS, {
                  serverName: 'negotiate-server',
                  variant: `rcache=${m.key}`,
                  group: 'rcache',
                  durationS: vd,
                }),
              );
              comparisons.push({
                group: 'rcache',
                what: m.what,
                row: {
                  scenario: 'http',
                  server: 'negotiate-server',
                  variant: `rcache=${m.key}`,
                  connections: VARIANT_CONNS,
                },
                baseline: oursRow('http', VARIANT_CONNS),
              });
            }),
          );
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
        const name = 'negotiate-server --http-engine node';
        starting.push(
          start(
            name,
            () => startOurs({ env, keytab: realm.keytab, workers: BASE_WORKERS, extraArgs: ['--http-engine', 'node'] }),
            true,
          ).then((s) => {
            if (!s)
              return void skipped.push({
                group: 'engine',
                what: 'node:http engine',
                reason: unavailable[name] ?? 'did not start',
              });
            for (const c of httpConns) {
              phases.push(
                httpPhase(s, c, {
                  serverName: 'negotiate-server',
                  variant: 'engine=node',
                  group: 'engine',
                  durationS: vd,
                }),
              );
              comparisons.push({
                group: 'engine',
                what: 'node:http through the adapter',
                row: { scenario: 'http', server: 'negotiate-server', variant: 'engine=node', connections: c },
                baseline: oursRow('http', c),
              });
            }
          }),
        );
      }
      if (selected.has('handoff')) {
        const name = 'negotiate-server --pool-handoff piscina';
        starting.push(
          start(
            name,
            () =>
              startOurs({ env, keytab: realm.keytab, workers: BASE_WORKERS, extraArgs: ['--pool-handoff', 'piscina'] }),
            true,
          ).then((s) => {
            if (!s)
              return void skipped.push({
                group: 'handoff',
                what: 'Piscina hand-off',
                reason: unavailable[name] ?? 'did not start',
              });
            for (const c of httpConns) {
              phases.push(
                httpPhase(s, c, {
                  serverName: 'negotiate-server',
                  variant: 'handoff=piscina',
                  group: 'handoff',
                  durationS: vd,
                }),
              );
              comparisons.push({
                group: 'handoff',
                what: 'Piscina hand-off (a Piscina task per batch)',
                row: { scenario: 'http', server: 'negotiate-server', variant: 'handoff=piscina', connections: c },
                baseline: oursRow('http', c),
              });
            }
          }),
        );
      }
      if (selected.has('ntlm')) {
        const name = 'negotiate-server --ntlm';
        starting.push(
          start(
            name,
            () => startOurs({ env, keytab: realm.keytab, workers: BASE_WORKERS, extraArgs: ['--ntlm'] }),
            true,
          ).then((s) => {
            if (!s)
              return void skipped.push({
                group: 'ntlm',
                what: 'NTLM and Kerberos, live initiator',
                reason: unavailable[name] ?? 'did not start',
              });
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
          }),
        );
      }
      if (selected.has('mainthread')) {
        const name = 'addon on the main thread (no pool)';
        starting.push(
          start(name, async () =>
            (await import('./lib/mainThreadServer.mjs')).startMainThread({ env, keytab: realm.keytab }),
          ).then((s) => {
            if (!s)
              return void skipped.push({
                group: 'mainthread',
                what: 'addon on the main thread',
                reason: unavailable[name] ?? 'did not start',
              });
            for (const c of MAINTHREAD_CONNS) {
              phases.push(httpPhase(s, c, { group: 'mainthread', durationS: vd }));
              comparisons.push({
                group: 'mainthread',
                what: 'addon on the main thread, no pool',
                row: { scenario: 'http', server: name, connections: c },
                baseline: oursRow('http', c),
              });
            }
          }),
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
      const key = (/** @type {Phase} */ p) =>
        `${p.group ?? ''}|${p.scenario}|${p.variant ?? ''}|${String(p.connections).padStart(4, '0')}`;
      const main = phases.filter((p) => !p.group);
      const variants = phases.filter((p) => p.group).sort((a, b) => key(a).localeCompare(key(b)));
      phases.splice(0, phases.length, ...main, ...variants);
    }

    const pkey = (/** @type {Phase} */ p) => `${p.scenario}|${p.serverName}|${p.variant ?? ''}|${p.connections}`;
    const total = rounds * (phases.length + ceilings.length);
    let done = 0;
    const perRound = phases.reduce((t, p) => t + p.durationS + 0.8, 0) + ceilings.length * 3;
    log(
      `${phases.length} phases and ${ceilings.length} ceiling run(s) per round; about ` +
        `${Math.round((perRound * rounds) / 60)} min to go`,
    );

    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round so no server always runs first (or last, after the
      // machine has warmed up).
      const order = phases.map((_, i) => phases[(i + round * 3) % phases.length]);
      for (const p of order) {
        if (!p) continue;
        if (Date.now() > deadline) {
          log('time budget spent: stopping early');
          break;
        }
        done++;
        let r;
        let cpu0;
        let cpu1;
        let rss;
        try {
          const tokens = p.mech
            ? await generateTokens({
                env,
                mech: p.mech,
                service: p.service,
                count: phaseBudget(pkey(p), p.connections, p.durationS, p.scenario === 'http-wrk'),
              })
            : [];
          const server = p.fresh ? await p.fresh() : p.server;
          try {
            cpu0 = cpuSeconds(server.pids());
            r = await p.run(tokens, server);
            cpu1 = cpuSeconds(server.pids());
            rss = rssMiB(server.pids());
          } finally {
            if (p.fresh) await server.stop();
          }
        } catch (err) {
          // A variant's failure (e.g. a transient build state of the server) is recorded, not fatal.
          if (!p.group) throw err;
          log(
            `[${done}/${total}] ${p.scenario} ${p.serverName}${p.variant ? ` [${p.variant}]` : ''} ` +
              `c=${p.connections}: failed: ${/** @type {Error} */ (err).message}`,
          );
          continue;
        }
        const rec = {
          ...r,
          server: p.serverName,
          variant: p.variant,
          group: p.group,
          round,
          serverCpuUsPerHandshake: r.ok > 0 ? ((cpu1 - cpu0) * 1e6) / r.ok : NaN,
          serverRssMiB: rss,
          loadgenCpuUsPerRequest: r.requests > 0 ? (r.loadgenCpuS * 1e6) / r.requests : NaN,
        };
        runs.push(rec);
        fastest.set(pkey(p), Math.max(fastest.get(pkey(p)) ?? 0, r.rps));
        const errs = r.errors ? ` ${JSON.stringify(r.errorKinds)}` : '';
        log(
          `[${done}/${total}] ${p.scenario} ${p.serverName}${p.variant ? ` [${p.variant}]` : ''} ` +
            `c=${p.connections}: ${Math.round(r.rps)}/s ok=${r.ok} errors=${r.errors}${errs} ` +
            `p99=${r.latencyMs.p99}ms cpu=${Math.round(rec.serverCpuUsPerHandshake)}µs`,
        );
      }
      if (Date.now() > deadline) break;
      // The ceiling: MIT's accept in a C loop, 2 threads with a credential each, default
      // replay cache (the same protection as the servers); then the variants' ceilings.
      for (let k = 0; k < ceilings.length; k++) {
        const cfg = /** @type {(typeof ceilings)[number]} */ (ceilings[(k + round) % ceilings.length]);
        done++;
        try {
          const tokens = await generateTokens({
            env,
            mech: cfg.mech,
            service: 'host@localhost',
            count: quick ? 20_000 : 40_000,
          });
          const c = await runCeiling({ env, tokens, threads: 2, rcache: cfg.rcache, mech: cfg.mech });
          runs.push({
            scenario: 'accept-loop',
            server: CEILING,
            variant: cfg.variant,
            group: cfg.group,
            connections: 2,
            durationS: c.seconds,
            requests: c.handshakes + c.failures,
            ok: c.handshakes,
            errors: c.failures,
            errorKinds: {},
            rps: c.rate,
            latencyMs: { p50: NaN, p90: NaN, p99: NaN, max: NaN },
            loadgenCpuS: 0,
            round,
            serverCpuUsPerHandshake: c.handshakes > 0 ? (c.cpuSeconds * 1e6) / c.handshakes : NaN,
            serverRssMiB: NaN,
            loadgenCpuUsPerRequest: NaN,
          });
          log(
            `[${done}/${total}] C ceiling${cfg.variant ? ` [${cfg.variant}]` : ''}: ${Math.round(c.rate)}/s ` +
              `failures=${c.failures} cpu=${Math.round((c.cpuSeconds * 1e6) / Math.max(1, c.handshakes))}µs`,
          );
        } catch (err) {
          if (!cfg.variant) throw err;
          log(`[${done}/${total}] C ceiling [${cfg.variant}]: failed: ${/** @type {Error} */ (err).message}`);
        }
      }
    }
  } finally {
    for (const s of servers.reverse()) await s.stop().catch(() => undefined);
    await realm.destroy();
    await rm(dir, { recursive: true, force: true });
    if (shm) await rm(shm, { recursive: true, force: true });
  }

  const rows = summarize(runs);
  // A variant whose every phase failed has no row: say so.
  for (const c of comparisons) {
    if (
      !rows.some(
        (r) =>
          r.scenario === c.row.scenario &&
          r.server === c.row.server &&
          r.variant === c.row.variant &&
          r.connections === c.row.connections,
      ) &&
      !skipped.some((s) => s.group === c.group && s.what === c.what)
    ) {
      skipped.push({
        group: c.group,
        what: `${c.what} (c=${c.row.connections})`,
        reason: 'no successful phase (see the progress lines)',
      });
    }
  }
  // After the load phases, on a machine no server loads any more.
  const handoffMicro = selected.has('handoff')
    ? (log('handoff micro-benchmark (bench/handoff.mjs)'),
      runHandoffMicro({ seconds: quick ? 2 : 3, repeats: quick ? 3 : 5 }))
    : undefined;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await mkdir(outDir, { recursive: true });
  const machine = {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const wallS = Math.round((Date.now() - startedAt) / 1000);
  const variantsSection = selected.size
    ? `\n## Variants\n\n${vdesc()}Each variant next to its baseline from the same run (medians of rounds; variant ` +
      `phases ${variantDurationS} s, main phases ${durationS} s). The A/A line of the main table is the noise ` +
      `floor.\n\n${variantsMarkdown(rows, comparisons, skipped)}`
    : '';
  const unavailableLine = Object.keys(unavailable).length ? `Unavailable: ${JSON.stringify(unavailable)}\n` : '';
  const md =
    `# negotiate-server benchmark ${stamp}\n\n${quick ? 'Quick run. ' : ''}${rounds} round(s) of ` +
    `${durationS} s per phase; medians. Wall time ${wallS} s.\nMachine: ` +
    `${JSON.stringify(machine)}\n${unavailableLine}\n` +
    `${markdown(rows, { ours: 'negotiate-server', peers: [] })}` +
    `\n## What users see: wrk, our defaults (info logs) vs Apache\n\n` +
    `${wrkMarkdown(rows, { ours: OURS_DEFAULTS, peer: APACHE, scenario: 'http-wrk' })}${variantsSection}` +
    (handoffMicro ? `\n## Hand-off micro-benchmark\n\n${handoffMicro.md ?? `failed: ${handoffMicro.error}`}\n` : '');
  await writeFile(
    path.join(outDir, `${stamp}.json`),
    JSON.stringify(
      {
        stamp,
        quick,
        rounds,
        durationS,
        variantDurationS,
        variants: [...selected],
        wallS,
        machine,
        unavailable,
        skipped,
        comparisons,
        runs,
        summary: rows,
        handoffMicro: handoffMicro?.data,
      },
      null,
      2,
    ),
  );
  await writeFile(path.join(outDir, `${stamp}.md`), md);
  await writeFile(
    path.join(outDir, `${stamp}.svg`),
    svgChart(rows.filter((r) => r.scenario !== 'accept-loop' && !r.variant && r.scenario !== 'tcp-sspi live')),
  );
  process.stdout.write(md);
  log(`results in ${path.join(outDir, stamp)}.{json,md,svg}`);
}

/** The selected groups, one line each, for the report. */
function vdesc() {
  return [...selected].map((g) => `- ${g}: ${GROUPS[/** @type {keyof typeof GROUPS} */ (g)]}\n`).join('') + '\n';
}

main().catch((err) => {
  process.stderr.write(`bench: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
