#!/usr/bin/env node
/**
 * What a front end whose socket threads call GSSAPI themselves would give (issue 14: the
 * hand-off and the main thread are most of what we add to MIT's accept). A prototype, not a
 * product mode: bench/peers/main-thread/server.mjs with --threads N runs N uWS apps, one per
 * thread, on one port (SO_REUSEPORT: the kernel spreads connections over them), each thread
 * accepting synchronously with its own credential — no pool, no hand-off, no logs, no limits.
 * Measured beside our server with its defaults (info logs), the same with --log-level warn (no
 * line per handshake: the prototype writes none), the prototype on one thread, and Apache +
 * mod_auth_gssapi, under wrk with one fresh token per request; rounds rotate the order.
 *
 *   node bench/socketThreads.mjs [--connections 16,64] [--duration S] [--rounds N] [--threads N]
 *                                [--replay-variants] [--ours-variant FLAGS]... [--realm mit|ad]
 *                                [--groups N]
 *
 * --replay-variants adds our server with `--replay-cache memory` (in-process, no file), the same
 * with `--replay-cache-journal` (one 32-byte append per accept, so a restart forgets nothing), and the
 * prototype on N threads with MIT's replay cache off: what MIT's file cache (one file, locked
 * for each accept) costs two threads accepting at once.
 * --ours-variant FLAGS: adds our server with these serve flags besides its defaults (split at
 * spaces), e.g. --ours-variant="--workers 1" (with `=`: the value starts with a dash).
 * --realm ad: tickets from a throwaway Active Directory domain (Samba, root) with a PAC naming
 * --groups N groups besides Domain Users (bench/lib/benchRealm.mjs), for every server alike.
 * Server CPU per handshake is the whole process tree's (/proc), divided by wrk's handshakes
 * that completed with the mutual token; medians over rounds. Needs `npm run build`, Debian's
 * wrk and Apache (bench/setup.sh).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseRoundOptions } from './lib/roundOptions.mjs';
import { readFileSync } from 'node:fs';
import { cpuSeconds, processTree } from './lib/proc.mjs';
import { startOurs } from './lib/ours.mjs';
import { startApache } from './lib/apache.mjs';
import { startNodePeer, childEnv, realmEnv } from './lib/peerProcess.mjs';
import { runWrkLoad, warmUpWithWrk } from './lib/wrk.mjs';
import { WRK_TOKENS_PER_S } from './lib/tokenBudget.mjs';
import { median } from './lib/report.mjs';
import { realmLabel, realmOptions, startBenchRealm } from './lib/benchRealm.mjs';
import { fileURLToPath } from 'node:url';

const { connections, durationS, rounds, values } = parseRoundOptions('socketThreads', {
  threads: { type: 'string', default: '2' },
  'replay-variants': { type: 'boolean', default: false },
  'ours-variant': { type: 'string', multiple: true, default: [] },
  realm: { type: 'string', default: 'mit' },
  groups: { type: 'string', default: '0' },
});
const threads = Number(values.threads);
if (!(Number.isInteger(threads) && threads >= 1 && threads <= 16)) {
  process.stderr.write('socketThreads: --threads must be 1..16\n');
  process.exit(2);
}
const realmOpts = realmOptions(values.realm, values.groups);
if (typeof realmOpts === 'string') {
  process.stderr.write(`socketThreads: ${realmOpts}\n`);
  process.exit(2);
}
const log = (/** @type {string} */ m) =>
  process.stderr.write(`[socketThreads ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const PEER = fileURLToPath(new URL('./peers/main-thread/server.mjs', import.meta.url));

const { generateTokens } = await import('../tools/tokens.mjs');
const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-socketthreads-'));
/** A fresh journal directory (mode 0700, as --replay-cache-journal requires). */
async function journal() {
  const d = path.join(dir, 'journal');
  await mkdir(d, { mode: 0o700 });
  return d;
}
log(`tickets: ${realmLabel(realmOpts.kind, realmOpts.groups)}`);
const realm = await startBenchRealm({ dir: path.join(dir, 'realm'), ...realmOpts });
const env = realm.env();
/** @param {number} n @param {'default' | 'none'} rcache */
const startPeer = (n, rcache = 'default') =>
  startNodePeer({
    name: `socket threads (${n})${rcache === 'none' ? ', no replay cache' : ''}`,
    script: PEER,
    args: ['0', rcache, String(n)],
    env: { ...childEnv(realmEnv(env)), KRB5_KTNAME: `FILE:${realm.keytab}` },
    realm: realmEnv(env),
  });
/** @type {Array<{ name: string, pid: number, ports: { http?: number }, stop(): Promise<void> }>} */
const servers = [];
/** Our server with its defaults and `flags`, named for the table. @param {string[]} flags */
const startOursWith = async (/** @type {string} */ file, flags) =>
  Object.assign(
    await startOurs({ env, keytab: realm.keytab, defaults: { logFile: path.join(dir, file) }, extraArgs: flags }),
    { name: `negotiate-server (defaults${flags.length > 0 ? `, ${flags.join(' ')}` : ''})` },
  );
try {
  servers.push(
    await startOursWith('ours.log', []),
    await startOursWith('ours-warn.log', ['--log-level', 'warn']),
    await startPeer(threads),
    ...(threads > 1 ? [await startPeer(1)] : []),
  );
  for (const [i, flags] of values['ours-variant'].entries()) {
    servers.push(
      await startOursWith(
        `ours-variant-${i}.log`,
        flags.split(' ').filter((f) => f !== ''),
      ),
    );
  }
  if (values['replay-variants']) {
    servers.push(
      await startOursWith('ours-memory.log', ['--replay-cache', 'memory']),
      await startOursWith('ours-journal.log', ['--replay-cache', 'memory', '--replay-cache-journal', await journal()]),
      await startPeer(threads, 'none'),
    );
  }
  // Last: the table's ratios are against it. An AD domain's KDC is in its network namespace,
  // out of curl's reach here: the phases show whether Apache accepts the tickets (a handshake
  // counts only with the mutual token).
  servers.push(await startApache({ env, port: 0, keytab: realm.keytab, verify: realmOpts.kind === 'mit' }));
  for (const s of servers) log(`${s.name}: pid ${s.pid}, http ${s.ports.http}`);
  for (const s of servers) {
    await warmUpWithWrk({ port: s.ports.http, tokens: await generateTokens({ env, count: 3000 }), serverName: s.name });
  }
  /** @type {Map<string, Array<{ rps: number, cpuUs: number }>>} */
  const results = new Map();
  for (let round = 0; round < rounds; round++) {
    const order = servers.map((_, i) => servers[(i + round) % servers.length]);
    for (const c of connections) {
      for (const s of order) {
        // wrk sends requests without a token once they run out: enough for any rate here.
        const tokens = await generateTokens({ env, count: Math.ceil(WRK_TOKENS_PER_S * durationS) });
        const pids = processTree(s.pid);
        const cpu0 = cpuSeconds(pids);
        const r = await runWrkLoad({
          url: `http://127.0.0.1:${s.ports.http}/whoami`,
          tokens,
          connections: c,
          durationS,
          serverName: s.name,
          scenario: 'http-wrk',
        });
        const cpuUs = ((cpuSeconds(pids) - cpu0) * 1e6) / Math.max(1, r.ok);
        const key = `${s.name}|${c}`;
        results.set(key, [...(results.get(key) ?? []), { rps: r.rps, cpuUs }]);
        const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
        const perHandshake = `${cpuUs.toFixed(0)} µs/handshake`;
        const wrkCpu = `wrk ${((r.loadgenCpuS * 1e6) / Math.max(1, r.requests)).toFixed(1)} µs/request`;
        log(
          `round ${round + 1} ${s.name} c=${c}: ${r.rps}/s, ${perHandshake}, ${wrkCpu}, ` +
            `errors ${r.errors}, load ${load}`,
        );
      }
    }
  }
  const apache = servers.at(-1)?.name ?? '';
  process.stdout.write(
    `wrk, ${durationS} s per phase, median of ${rounds} rounds, ${realmLabel(realmOpts.kind, realmOpts.groups)}\n\n` +
      '| server | connections | handshakes/s | vs Apache | CPU µs/handshake | rounds (handshakes/s) |\n' +
      '| --- | --- | --- | --- | --- | --- |\n',
  );
  for (const c of connections) {
    const base = median((results.get(`${apache}|${c}`) ?? []).map((r) => r.rps));
    for (const s of servers) {
      const rows = results.get(`${s.name}|${c}`) ?? [];
      const rps = median(rows.map((r) => r.rps));
      process.stdout.write(
        `| ${s.name} | ${c} | ${Math.round(rps)} | ${(rps / base).toFixed(2)}× | ` +
          `${median(rows.map((r) => r.cpuUs)).toFixed(0)} | ${rows.map((r) => Math.round(r.rps)).join(', ')} |\n`,
      );
    }
  }
} finally {
  for (const s of servers) await s.stop().catch(() => {});
  await realm.stop();
  await rm(dir, { recursive: true, force: true });
}
