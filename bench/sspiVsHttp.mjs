#!/usr/bin/env node
/**
 * Raw TCP against HTTP on one server, each under a C load generator (issue 14's target: sspi
 * ≥ 0.8× of HTTP handshakes/s at 64 connections): our server with its defaults (info logs), HTTP
 * under wrk (bench/lib/wrk.mjs) and `sspi` under bench/tcpload/sspi_load.c, one fresh token per
 * handshake, phases alternating, rounds rotating the order. The Node TCP generator of
 * `npm run bench` (bench/lib/tcpLoad.mjs) spends ~100 µs of CPU per handshake on the same 2
 * cores against wrk's ~30, which by itself holds sspi back; here both generators are C and
 * their own CPU per handshake is reported.
 *
 *   node bench/sspiVsHttp.mjs [--connections 16,64] [--duration S] [--rounds N]
 *
 * Server CPU per handshake is the whole process tree's (/proc) over ok handshakes; medians over
 * rounds. Needs `npm run build`, Debian's wrk (bench/setup.sh) and a C compiler.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseRoundOptions } from './lib/roundOptions.mjs';
import { cpuSeconds, processTree } from './lib/proc.mjs';
import { startOurs } from './lib/ours.mjs';
import { runWrkLoad } from './lib/wrk.mjs';
import { WRK_TOKENS_PER_S } from './lib/tokenBudget.mjs';
import { runSspiLoadC, sspiLoadBinary } from './lib/sspiLoadC.mjs';
import { median } from './lib/report.mjs';
import { startBenchRealm } from './lib/benchRealm.mjs';

const { connections, durationS, rounds } = parseRoundOptions('sspiVsHttp', {});
const log = (/** @type {string} */ m) =>
  process.stderr.write(`[sspiVsHttp ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

sspiLoadBinary();
const { generateTokens } = await import('../tools/tokens.mjs');
const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-sspivshttp-'));
const realm = await startBenchRealm({ dir: path.join(dir, 'realm'), kind: 'mit' });
const env = realm.env();
let server;
try {
  server = await startOurs({ env, keytab: realm.keytab, defaults: { logFile: path.join(dir, 'ours.log') } });
  log(`negotiate-server (defaults): pid ${server.pid}, http ${server.ports.http}, sspi ${server.ports.sspi}`);
  // A generator out of tokens stops early (wrk: sends requests without one): enough for any rate here.
  const count = Math.ceil(WRK_TOKENS_PER_S * durationS);
  const phases = {
    http: async (/** @type {number} */ c) =>
      runWrkLoad({
        url: `http://127.0.0.1:${server.ports.http}/whoami`,
        tokens: await generateTokens({ env, count }),
        connections: c,
        durationS,
        serverName: 'negotiate-server (defaults)',
        scenario: 'http-wrk',
      }),
    sspi: async (/** @type {number} */ c) =>
      runSspiLoadC({
        host: '127.0.0.1',
        port: server.ports.sspi,
        tokens: await generateTokens({ env, count, service: 'host@localhost' }),
        connections: c,
        durationS,
        serverName: 'negotiate-server (defaults)',
        scenario: 'tcp-sspi-c',
      }),
  };
  await phases.http(16);
  await phases.sspi(16);
  /** @type {Map<string, Array<{ rps: number, cpuUs: number, loadgenUs: number }>>} */
  const results = new Map();
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['http', 'sspi'] : ['sspi', 'http'];
    for (const c of connections) {
      for (const kind of order) {
        const pids = processTree(server.pid);
        const cpu0 = cpuSeconds(pids);
        const r = await phases[/** @type {'http' | 'sspi'} */ (kind)](c);
        const cpuUs = ((cpuSeconds(pids) - cpu0) * 1e6) / Math.max(1, r.ok);
        const loadgenUs = (r.loadgenCpuS * 1e6) / Math.max(1, r.requests);
        const key = `${kind}|${c}`;
        results.set(key, [...(results.get(key) ?? []), { rps: r.rps, cpuUs, loadgenUs }]);
        log(
          `round ${round + 1} ${kind} c=${c}: ${r.rps}/s, ${cpuUs.toFixed(0)} µs/handshake, ` +
            `load generator ${loadgenUs.toFixed(1)} µs/handshake, errors ${r.errors} ${JSON.stringify(r.errorKinds)}`,
        );
      }
    }
  }
  process.stdout.write(
    `negotiate-server (defaults), MIT realm tickets, ${durationS} s per phase, median of ${rounds} rounds\n\n` +
      '| connections | HTTP (wrk) | sspi (C) | sspi : HTTP | server CPU µs/handshake HTTP / sspi | ' +
      'load generator CPU µs/handshake wrk / sspi_load |\n| --- | --- | --- | --- | --- | --- |\n',
  );
  for (const c of connections) {
    const h = results.get(`http|${c}`) ?? [];
    const t = results.get(`sspi|${c}`) ?? [];
    const m = (/** @type {typeof h} */ rows, /** @type {'rps' | 'cpuUs' | 'loadgenUs'} */ k) =>
      median(rows.map((r) => r[k]));
    process.stdout.write(
      `| ${c} | ${Math.round(m(h, 'rps'))} | ${Math.round(m(t, 'rps'))} | ` +
        `${(m(t, 'rps') / m(h, 'rps')).toFixed(2)}× | ` +
        `${m(h, 'cpuUs').toFixed(0)} / ${m(t, 'cpuUs').toFixed(0)} | ` +
        `${m(h, 'loadgenUs').toFixed(1)} / ${m(t, 'loadgenUs').toFixed(1)} |\n`,
    );
  }
} finally {
  await server?.stop().catch(() => {});
  await realm.stop();
  await rm(dir, { recursive: true, force: true });
}
