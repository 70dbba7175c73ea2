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
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { cpuSeconds, rssMiB } from './lib/proc.mjs';
import { startOurs } from './lib/ours.mjs';
import { curlNegotiate } from './lib/peerProcess.mjs';
import { writeRunReport } from './lib/runReport.mjs';
import { BASE_WORKERS, CEILING, setUpVariants } from './lib/variants.mjs';
import { parseRunOptions } from './lib/runOptions.mjs';
import { tokenBudgets } from './lib/tokenBudget.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const options = parseRunOptions(process.argv.slice(2), path.join(here, 'results'));
if (typeof options === 'string') {
  process.stderr.write(`bench: ${options}\n`);
  process.exit(2);
}
const { quick, rounds, durationS, variantDurationS, outDir, selected } = options;
const httpConns = quick ? [16] : [1, 16, 64];
const tcpConns = quick ? [16] : [1, 16, 64];
const { phaseBudget, fastest } = tokenBudgets(quick);
const deadline = Date.now() + (quick ? 115_000 : 630_000);
const startedAt = Date.now();

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
    await setUpVariants({
      selected,
      quick,
      ours,
      env,
      realm,
      shm,
      start,
      unavailable,
      phases,
      comparisons,
      skipped,
      ceilings,
      httpPhase,
      oursRow,
      hasPhase,
      variantDurationS,
      httpConns,
    });

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
        let tokenCount = 0;
        try {
          const tokens = p.mech
            ? await generateTokens({
                env,
                mech: p.mech,
                service: p.service,
                count: phaseBudget(pkey(p), p.connections, p.durationS, p.scenario === 'http-wrk'),
              })
            : [];
          tokenCount = tokens.length;
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
        // A timed (wrk) phase that sent more requests than it had tokens went on without them
        // once they ran out: its rate is a floor, and its errors are those requests. (Its ok
        // count can miss a token or two: a request still in flight when wrk stops.)
        const ranOut = p.scenario === 'http-wrk' && tokenCount > 0 && r.requests > tokenCount;
        const errs =
          (r.errors ? ` ${JSON.stringify(r.errorKinds)}` : '') + (ranOut ? ' (tokens ran out: a floor)' : '');
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

  await writeRunReport({
    runs,
    comparisons,
    skipped,
    unavailable,
    selected,
    quick,
    rounds,
    durationS,
    variantDurationS,
    outDir,
    startedAt,
    log,
    ours: OURS_DEFAULTS,
    apache: APACHE,
  });
}

main().catch((err) => {
  process.stderr.write(`bench: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
