#!/usr/bin/env node
/**
 * What our accept costs beyond MIT's: the addon's accept (`addon.accept` then `addon.release`,
 * as a worker runs an HTTP leg) in a loop on one thread — no sockets, no pool, no hand-off —
 * against two C loops (tools/native/accept_loop.c) in the same run, fresh tokens each:
 * gss_accept_sec_context alone (the C ceiling's loop), and the same learning who the client is
 * as any server must (`--identity`: the client name, gss_display_name, the PAC, releasing the
 * name). The addon's cost above the second is ours: the result object, the context table,
 * N-API.
 *
 *   node bench/acceptLoop.mjs [--count N] [--rounds R] [--rcache default|none] [--b ROOT]
 *                             [--realm mit|ad] [--groups N] [--json]
 *
 * --realm ad: tickets from a throwaway Active Directory domain (Samba, src/realm/ad; root), with a
 * PAC naming the user's SIDs and --groups N groups besides Domain Users: what an AD user's
 * handshake costs, the PAC decoded into the result. The default is the MIT throwaway realm,
 * whose tickets carry no PAC.
 * --b ROOT: a second addon loop, from another built checkout (its dist/ and build/), in the same
 * rounds: an A/B of two builds of the addon with MIT's loops beside them.
 * Each round runs both loops in fresh processes (order alternating), N tokens each; CPU per
 * accept of the whole process over the timed loop only; medians over rounds. Needs
 * `npm run build` and the C tools (built on first use).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { median } from './lib/report.mjs';
import { realmLabel, realmOptions, startBenchRealm } from './lib/benchRealm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '8000' },
    rounds: { type: 'string', default: '5' },
    rcache: { type: 'string', default: 'default' },
    json: { type: 'boolean', default: false },
    b: { type: 'string' },
    child: { type: 'string' },
    root: { type: 'string', default: path.join(here, '..') },
    realm: { type: 'string', default: 'mit' },
    groups: { type: 'string', default: '0' },
  },
});

if (values.child) {
  await childLoop(values.child, values.rcache, values.root);
} else {
  await main();
}

/** The node loop, in this (child) process: tokens from `file`, one JSON line on stdout. */
async function childLoop(file, rcache, root) {
  const { loadNative } = await import(path.join(root, 'dist', 'src', 'native.js'));
  const addon = loadNative();
  addon.configureTable({ maxContexts: 100_000, handshakeTtlMs: 10_000 });
  const creds = rcache === 'none' ? { ntlm: false, replayCache: 'none:' } : { ntlm: false };
  const acquired = addon.acquireCredentials(creds);
  if (!acquired.ok) throw new Error(`acquireCredentials: ${acquired.message}`);
  const records = await readFile(file);
  /** @type {Buffer[]} */
  const tokens = [];
  for (let at = 0; at < records.length;) {
    const n = records.readUInt32LE(at);
    tokens.push(records.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  let ok = 0;
  let failed = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < tokens.length; i++) {
    const id = i + 1;
    const r = addon.accept(id, tokens[i]);
    addon.release(id);
    if (r.ok && r.status === 'complete' && r.output.length > 0) ok++;
    else failed++;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  process.stdout.write(
    `${JSON.stringify({ handshakes: ok, failures: failed, seconds, cpuSeconds: (c.user + c.system) / 1e6 })}\n`,
  );
}

async function main() {
  const count = Number(values.count);
  const rounds = Number(values.rounds);
  const realmOpts = realmOptions(values.realm, values.groups);
  if (typeof realmOpts === 'string') {
    process.stderr.write(`acceptLoop: ${realmOpts}\n`);
    process.exit(2);
  }
  const groups = realmOpts.groups;
  if (
    !(count >= 100 && count <= 200_000) ||
    !(rounds >= 1 && rounds <= 20) ||
    !['default', 'none'].includes(values.rcache)
  ) {
    process.stderr.write('acceptLoop: bad --count (100..200000), --rounds (1..20) or --rcache (default|none)\n');
    process.exit(2);
  }
  const log = (/** @type {string} */ m) =>
    process.stderr.write(`[acceptLoop ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
  const { generateTokens, encodeRecords } = await import('../tools/tokens.mjs');
  const { runCeiling } = await import('./lib/ceiling.mjs');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-acceptloop-'));
  const realm = await startBenchRealm({ dir: path.join(dir, 'realm'), ...realmOpts });
  const env = realm.env();
  /** @type {Record<'c' | 'cIdentity' | 'node' | 'nodeB', number[]>} */
  const perAccept = { c: [], cIdentity: [], node: [], nodeB: [] };
  const label = { c: 'C loop', cIdentity: 'C loop --identity', node: 'addon loop', nodeB: 'addon loop B' };
  /** @type {Array<'c' | 'cIdentity' | 'node' | 'nodeB'>} */
  const kinds = ['c', 'cIdentity', 'node', ...(values.b ? /** @type {const} */ (['nodeB']) : [])];
  const roots = { node: path.join(here, '..'), nodeB: path.resolve(values.b ?? '.') };
  try {
    for (let round = 0; round < rounds; round++) {
      // The order rotates each round, so drift hits every loop alike.
      const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]);
      for (const kind of order) {
        const tokens = await generateTokens({ env, count });
        const r =
          kind === 'node' || kind === 'nodeB'
            ? await runNodeLoop(env, tokens, path.join(dir, 'tokens'), values.rcache, roots[kind], encodeRecords)
            : await runCeiling({
                env,
                tokens,
                threads: 1,
                rcache: values.rcache,
                maxSeconds: 60,
                identity: kind === 'cIdentity',
              });
        if (r.failures > 0 || r.handshakes === 0) throw new Error(`${label[kind]}: ${r.failures} failures of ${count}`);
        const us = (r.cpuSeconds * 1e6) / r.handshakes;
        perAccept[kind].push(us);
        log(`round ${round + 1} ${label[kind]}: ${us.toFixed(1)} µs CPU per accept (${r.handshakes} accepts)`);
      }
    }
  } finally {
    await realm.stop();
    await rm(dir, { recursive: true, force: true });
  }
  // Differences within each round (the same minute's machine), then their median.
  const identityUs = median(perAccept.cIdentity.map((n, i) => n - perAccept.c[i]));
  const oursUs = median(perAccept.node.map((n, i) => n - perAccept.cIdentity[i]));
  const bMinusAUs = values.b ? median(perAccept.nodeB.map((n, i) => n - perAccept.node[i])) : undefined;
  const result = {
    count,
    rounds,
    rcache: values.rcache,
    realm: values.realm,
    groups,
    cUs: median(perAccept.c),
    cIdentityUs: median(perAccept.cIdentity),
    nodeUs: median(perAccept.node),
    identityUs,
    oursUs,
    ...(values.b ? { b: roots.nodeB, nodeBUs: median(perAccept.nodeB), bMinusAUs } : {}),
    perAccept,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const us = (/** @type {number} */ x) => `${x.toFixed(1)} µs`;
  process.stdout.write(
    `One thread, ${count} accepts per loop, replay cache ${values.rcache}, ` +
      `${realmLabel(values.realm, groups)}, ` +
      `median of ${rounds} rounds:\n\n` +
      '| loop | CPU per accept |\n| --- | --- |\n' +
      `| C: gss_accept_sec_context alone | ${us(result.cUs)} |\n` +
      `| C: the same and who the client is (name, PAC) | ${us(result.cIdentityUs)} |\n` +
      `| the addon: accept + release | ${us(result.nodeUs)} |\n` +
      `| learning who the client is, in MIT (median of per-round differences) | ${us(identityUs)} |\n` +
      `| ours above that: result object, context table, N-API (idem) | ${us(oursUs)} |\n` +
      (bMinusAUs === undefined
        ? ''
        : `| addon loop B (${roots.nodeB}) | ${us(median(perAccept.nodeB))} |\n` +
          `| B minus A (median of per-round differences) | ${us(bMinusAUs)} |\n`),
  );
}

/** Runs childLoop in a fresh process over `tokens`, with the addon of the checkout `root`. */
async function runNodeLoop(env, tokens, file, rcache, root, encodeRecords) {
  await writeFile(file, encodeRecords(tokens));
  const args = [fileURLToPath(import.meta.url), '--child', file, '--rcache', rcache, '--root', root];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    if (err.length < 4096) err += d;
  });
  const code = await new Promise((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`addon loop failed (${code}): ${err.trim()}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '');
}
