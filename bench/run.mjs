#!/usr/bin/env node
/**
 * `npm run bench` (from the repository root): handshakes per second of negotiate-server and its
 * peers, measured in one run on this machine.
 *
 *   node bench/run.mjs [--quick] [--rounds N] [--duration S] [--out DIR]
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
import { cpuSeconds, rssMiB } from './lib/proc.mjs';
import { markdown, summarize, svgChart } from './lib/report.mjs';
import { startOurs } from './lib/ours.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = values.quick === true;
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const durationS = Number(values.duration ?? (quick ? 3 : 5));
const outDir = path.resolve(values.out ?? path.join(here, 'results'));
const httpConns = quick ? [16] : [1, 16, 64];
const tcpConns = quick ? [16] : [1, 16, 64];
/** Tokens per timed phase: more than any server here can use in `durationS`. */
const tokenBudget = (/** @type {number} */ conns) => Math.min(quick ? 30_000 : 80_000, Math.max(4000, conns * 1500));
const deadline = Date.now() + (quick ? 110_000 : 590_000);

const log = (/** @type {string} */ msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function main() {
  const dist = path.join(here, '..', 'dist', 'src', 'realm', 'index.js');
  const { ThrowawayRealm } = await import(dist).catch(() => {
    throw new Error('the project is not built: run npm test (or bash scripts/setup.sh) first');
  });
  const build = spawnSync(process.execPath, [path.join(here, 'native', 'build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('building bench/native failed');

  const { generateTokens } = await import('./lib/tokens.mjs');
  const { runHttpLoad } = await import('./lib/httpLoad.mjs');
  const { runTcpLoad } = await import('./lib/tcpLoad.mjs');
  const { runCeiling } = await import('./lib/ceiling.mjs');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-bench-'));
  const realm = await ThrowawayRealm.create({ dir: path.join(dir, 'realm') });
  const env = realm.env();
  log(`realm ${realm.realmName} in ${realm.dir}`);

  /** @type {Array<{ name: string, pid: number, pids(): number[], ports: Record<string, number>, stop(): Promise<void> }>} */
  const servers = [];
  /** @type {Record<string, string>} */
  const unavailable = {};
  const start = async (/** @type {string} */ name, /** @type {() => Promise<any>} */ fn) => {
    try {
      const s = await fn();
      s.name = name;
      servers.push(s);
      log(`started ${name} (pid ${s.pid}, ports ${JSON.stringify(s.ports)})`);
      return s;
    } catch (err) {
      unavailable[name] = String(/** @type {Error} */ (err).message ?? err);
      log(`${name} unavailable: ${unavailable[name]}`);
      return undefined;
    }
  };

  const runs = [];
  try {
    const ours = await start('negotiate-server', () => startOurs({ env, keytab: realm.keytab, workers: 2 }));
    const oursAA = await start('negotiate-server (A/A)', () => startOurs({ env, keytab: realm.keytab, workers: 2 }));
    const apache = await start('apache mod_auth_gssapi', async () =>
      (await import('./lib/apache.mjs')).startApache({ env, keytab: realm.keytab, port: 0, rcache: 'default', dir: path.join(dir, 'apache') }),
    );
    const knpm = await start('kerberos npm', async () => (await import('./lib/kerberosNpm.mjs')).startKerberosNpm({ env, keytab: realm.keytab, port: 0 }));
    // MIT's gss-server serves one connection at a time, with a listen backlog of 5 and no
    // timeouts: a load that gives up on it can leave it wedged for every later phase. So each of
    // its phases gets a fresh process (started below), and this one only checks it works.
    const { startGssServer } = await import('./lib/gssServer.mjs');
    const gssServer = await start('MIT gss-server', () => startGssServer({ env, keytab: realm.keytab, port: 0 }));
    if (gssServer) {
      await gssServer.stop();
      servers.splice(servers.indexOf(gssServer), 1);
    }

    /** @type {Array<{ scenario: string, server: any, connections: number, run: (tokens: Buffer[], server?: any) => Promise<any>, service: string, fresh?: () => Promise<any> }>} */
    const phases = [];
    for (const c of httpConns) {
      for (const s of [ours, oursAA, apache, knpm]) {
        if (!s) continue;
        phases.push({
          scenario: 'http', server: s, connections: c, service: 'HTTP@localhost',
          run: (tokens) => runHttpLoad({ url: `http://localhost:${s.ports.http}/whoami`, tokens, connections: c, durationS, maxRequests: tokens.length, serverName: s.name, scenario: 'http' }),
        });
      }
    }
    for (const c of tcpConns) {
      for (const s of [ours, oursAA]) {
        if (!s) continue;
        phases.push({
          scenario: 'tcp-sspi', server: s, connections: c, service: 'host@localhost',
          run: (tokens) => runTcpLoad({ host: '127.0.0.1', port: s.ports.sspi, framing: 'sspi', tokens, connections: c, durationS, maxRequests: tokens.length, serverName: s.name, scenario: 'tcp-sspi' }),
        });
      }
      for (const s of [ours, gssServer]) {
        if (!s) continue;
        phases.push({
          scenario: 'tcp-gss-sample', server: s, connections: c, service: 'host@localhost',
          fresh: s === gssServer ? () => startGssServer({ env, keytab: realm.keytab, port: 0 }).then((f) => Object.assign(f, { name: s.name })) : undefined,
          run: (tokens, srv = s) => runTcpLoad({ host: '127.0.0.1', port: srv.ports.gssSample, framing: 'gss-sample', tokens, connections: c, durationS, maxRequests: tokens.length, serverName: s.name, scenario: 'tcp-gss-sample' }),
        });
      }
    }

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
        const tokens = await generateTokens({ env, mech: 'spnego', service: p.service, count: tokenBudget(p.connections) });
        const server = p.fresh ? await p.fresh() : p.server;
        let r;
        let cpu0;
        let cpu1;
        let rss;
        try {
          cpu0 = cpuSeconds(server.pids());
          r = await p.run(tokens, server);
          cpu1 = cpuSeconds(server.pids());
          rss = rssMiB(server.pids());
        } finally {
          if (p.fresh) await server.stop();
        }
        const rec = {
          ...r,
          round,
          serverCpuUsPerHandshake: r.ok > 0 ? ((cpu1 - cpu0) * 1e6) / r.ok : NaN,
          serverRssMiB: rss,
          loadgenCpuUsPerRequest: r.requests > 0 ? (r.loadgenCpuS * 1e6) / r.requests : NaN,
        };
        runs.push(rec);
        log(`${p.scenario} ${p.server.name} c=${p.connections}: ${Math.round(r.rps)}/s ok=${r.ok} errors=${r.errors} p99=${r.latencyMs.p99}ms`);
      }
      if (Date.now() > deadline) break;
      // The ceiling: MIT's accept in a C loop, 2 threads with a credential each, default
      // replay cache (the same protection as the servers).
      const tokens = await generateTokens({ env, mech: 'spnego', service: 'host@localhost', count: quick ? 20_000 : 40_000 });
      const c = await runCeiling({ env, tokens, threads: 2, rcache: 'default', mech: 'spnego' });
      runs.push({
        scenario: 'accept-loop', server: 'C ceiling (2 threads)', connections: 2, durationS: c.seconds, requests: c.handshakes + c.failures,
        ok: c.handshakes, errors: c.failures, errorKinds: {}, rps: c.rate, latencyMs: { p50: NaN, p90: NaN, p99: NaN, max: NaN }, loadgenCpuS: 0,
        round, serverCpuUsPerHandshake: c.handshakes > 0 ? (c.cpuSeconds * 1e6) / c.handshakes : NaN, serverRssMiB: NaN, loadgenCpuUsPerRequest: NaN,
      });
      log(`C ceiling: ${Math.round(c.rate)}/s`);
    }
  } finally {
    for (const s of servers.reverse()) await s.stop().catch(() => undefined);
    await realm.destroy();
    await rm(dir, { recursive: true, force: true });
  }

  const rows = summarize(runs);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await mkdir(outDir, { recursive: true });
  const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, kernel: os.release() };
  const md = `# negotiate-server benchmark ${stamp}\n\n${quick ? 'Quick run. ' : ''}${rounds} round(s) of ${durationS} s per phase; medians.\nMachine: ${JSON.stringify(machine)}\n${Object.keys(unavailable).length ? `Unavailable: ${JSON.stringify(unavailable)}\n` : ''}\n${markdown(rows, { ours: 'negotiate-server', peers: [] })}`;
  await writeFile(path.join(outDir, `${stamp}.json`), JSON.stringify({ stamp, quick, rounds, durationS, machine, unavailable, runs, summary: rows }, null, 2));
  await writeFile(path.join(outDir, `${stamp}.md`), md);
  await writeFile(path.join(outDir, `${stamp}.svg`), svgChart(rows.filter((r) => r.scenario !== 'accept-loop')));
  process.stdout.write(md);
  log(`results in ${path.join(outDir, stamp)}.{json,md,svg}`);
}

main().catch((err) => {
  process.stderr.write(`bench: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
