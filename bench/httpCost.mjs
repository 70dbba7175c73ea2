#!/usr/bin/env node
/**
 * The HTTP front end's CPU per handshake, A/B between builds (issue 14 item 2): our server as
 * users run it (`serve` with its defaults, info logs to a file), under wrk with one fresh token
 * per request, interleaved rounds, medians.
 *
 *   node bench/httpCost.mjs [--a ROOT] [--b ROOT] [--b-env NAME=VALUE]... [--a-arg ARG]...
 *                           [--b-arg ARG]... [--connections 16,64] [--duration S] [--rounds N]
 *                           [--cpu-prof DIR] [--realm mit|ad] [--groups N]
 *
 * ROOT: a built checkout (bin/, dist/, build/); --a alone measures one build. --b-env: B's server
 * process gets this environment variable too (e.g. LD_PRELOAD of another malloc); with no --b, B
 * is the same build as A, so the run measures the environment alone. --a-arg / --b-arg: that
 * server's `serve` gets this command-line argument too (e.g. `--b-arg=--workers --b-arg=1`); a
 * --b-arg alone makes B the same build as A, as --b-env does. The order of the
 * servers alternates each round. Per phase: whole process CPU and main-thread CPU (/proc), each
 * divided by the handshakes wrk saw complete (a 200 with the mutual token). --cpu-prof: start
 * the servers under `node --cpu-prof` (profiles written to DIR when they stop). Needs
 * `npm run build` and Debian's wrk. --realm ad: tickets from a throwaway AD domain (root), with a
 * PAC and --groups N groups besides Domain Users (bench/lib/benchRealm.mjs).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { cpuSeconds, threadCpuSeconds } from './lib/proc.mjs';
import { startOurs } from './lib/ours.mjs';
import { runWrkLoad, warmUpWithWrk } from './lib/wrk.mjs';
import { median } from './lib/report.mjs';
import { realmLabel, realmOptions, startBenchRealm } from './lib/benchRealm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    a: { type: 'string', default: path.join(here, '..') },
    b: { type: 'string' },
    'b-env': { type: 'string', multiple: true, default: [] },
    'a-arg': { type: 'string', multiple: true, default: [] },
    'b-arg': { type: 'string', multiple: true, default: [] },
    connections: { type: 'string', default: '16,64' },
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
    realm: { type: 'string', default: 'mit' },
    groups: { type: 'string', default: '0' },
  },
});
const connections = values.connections.split(',').map(Number);
const durationS = Number(values.duration);
const rounds = Number(values.rounds);
const realmOpts = realmOptions(values.realm, values.groups);
if (typeof realmOpts === 'string') {
  process.stderr.write(`httpCost: ${realmOpts}\n`);
  process.exit(2);
}
if (
  connections.some((c) => !(c >= 1 && c <= 1024)) ||
  !(durationS > 0 && durationS <= 60) ||
  !(rounds >= 1 && rounds <= 20)
) {
  process.stderr.write('httpCost: bad --connections, --duration (≤ 60) or --rounds (≤ 20)\n');
  process.exit(2);
}
/** @type {Record<string, string>} */
const bEnv = {};
for (const kv of values['b-env']) {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(kv);
  if (!m) {
    process.stderr.write(`httpCost: --b-env wants NAME=VALUE, got ${JSON.stringify(kv.slice(0, 80))}\n`);
    process.exit(2);
  }
  bEnv[m[1]] = m[2];
}
const bTweaks = [...values['b-env'].map((kv) => `env ${kv}`), ...values['b-arg']];
const bRoot = values.b ?? (bTweaks.length > 0 ? values.a : undefined);
const roots = [values.a, ...(bRoot ? [bRoot] : [])].map((r) => path.resolve(r));
const log = (/** @type {string} */ m) =>
  process.stderr.write(`[httpCost ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

const { generateTokens } = await import('../tools/tokens.mjs');
const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-httpcost-'));
log(`tickets: ${realmLabel(realmOpts.kind, realmOpts.groups)}`);
const realm = await startBenchRealm({ dir: path.join(dir, 'realm'), ...realmOpts });
const env = realm.env();
/** @type {Array<Awaited<ReturnType<typeof startOurs>> & { root: string, label: string }>} */
const servers = [];
try {
  for (const [i, root] of roots.entries()) {
    const label = roots.length > 1 ? (i === 0 ? 'A' : 'B') : 'A';
    const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.join(values['cpu-prof'], label)] : [];
    const s = await startOurs({
      env: label === 'B' ? { ...env, ...bEnv } : env,
      keytab: realm.keytab,
      root,
      nodeArgs,
      extraArgs: label === 'B' ? values['b-arg'] : values['a-arg'],
      defaults: { logFile: path.join(dir, `${label}.log`) },
    });
    servers.push(Object.assign(s, { root, label }));
    const tweaks = label === 'B' ? bTweaks : values['a-arg'];
    const extra = tweaks.length > 0 ? ` ${tweaks.join(' ')}` : '';
    log(`server ${label} (${root})${extra} pid ${s.pid} http ${s.ports.http}`);
  }
  // Warm-up: JIT, the pool's workers and their credentials, uWS's buffers; not measured.
  for (const s of servers) {
    await warmUpWithWrk({
      port: s.ports.http,
      tokens: await generateTokens({ env, count: 4000 }),
      serverName: s.label,
    });
  }
  /** @type {Map<string, Array<{ cpuUs: number, mainUs: number, rps: number, errors: number }>>} */
  const results = new Map();
  for (let round = 0; round < rounds; round++) {
    for (const c of connections) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        // Enough for 1.5× the best rate seen at this concurrency (12,000/s before any: 6,000 ran
        // out on a VM where the server does ~10,000/s), never more than 100,000: a thread out of
        // tokens sends requests without one, which are not counted.
        const best = Math.max(
          12_000,
          ...(results.get(`A c=${c}`) ?? []).map((r) => r.rps),
          ...(results.get(`B c=${c}`) ?? []).map((r) => r.rps),
        );
        const tokens = await generateTokens({ env, count: Math.min(100_000, Math.ceil(1.5 * best * durationS)) });
        const pids = s.pids();
        const cpu0 = cpuSeconds(pids);
        const main0 = threadCpuSeconds(s.pid, s.pid);
        const r = await runWrkLoad({
          url: `http://127.0.0.1:${s.ports.http}/whoami`,
          tokens,
          connections: c,
          durationS,
          serverName: s.label,
          scenario: 'http-wrk',
        });
        const cpu = cpuSeconds(pids) - cpu0;
        const main = threadCpuSeconds(s.pid, s.pid) - main0;
        const row = { cpuUs: (cpu * 1e6) / r.ok, mainUs: (main * 1e6) / r.ok, rps: r.rps, errors: r.errors };
        const key = `${s.label} c=${c}`;
        results.set(key, [...(results.get(key) ?? []), row]);
        const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
        log(
          `round ${round + 1} ${key}: ${r.rps}/s, ${row.cpuUs.toFixed(1)} µs CPU/handshake ` +
            `(main thread ${row.mainUs.toFixed(1)}), errors ${r.errors}, load ${load}`,
        );
      }
    }
  }
  process.stdout.write(
    '| build | connections | handshakes/s | CPU µs/handshake (process) | main thread µs/handshake ' +
      '| rounds (process µs) |\n',
  );
  process.stdout.write('| --- | --- | --- | --- | --- | --- |\n');
  for (const c of connections) {
    for (const s of servers) {
      const rows = results.get(`${s.label} c=${c}`) ?? [];
      process.stdout.write(
        `| ${s.label} | ${c} | ${Math.round(median(rows.map((r) => r.rps)))} | ` +
          `${median(rows.map((r) => r.cpuUs)).toFixed(1)} | ` +
          `${median(rows.map((r) => r.mainUs)).toFixed(1)} | ${rows.map((r) => r.cpuUs.toFixed(0)).join(', ')} |\n`,
      );
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  await realm.stop();
  await rm(dir, { recursive: true, force: true });
}
