#!/usr/bin/env node
/**
 * The farm benchmark (issue 15 item 6), as root: what shared replay detection costs and what
 * instances behind HAProxy add, on this machine.
 *
 *   sudo node bench/farm.mjs [--duration S] [--connections C] [--max-instances N] [--entries N]
 *
 * 0. A baseline: one server on 127.0.0.1 outside any namespace, the same load, same moment.
 * 1. One instance, HTTP straight to its address: handshakes/s and CPU per handshake with
 *    --replay-cache memory, then with redis:// (when this build has it; Redis's own CPU too).
 * 2. 1 → 2 → ... N instances through HAProxy (one farm of N; the others in maintenance), with
 *    CPU per handshake per part: instances, HAProxy, Redis, the load generator.
 * 3. Redis memory per replay entry: N keys shaped like the cache's (SET NX PX), used_memory
 *    before/after and MEMORY USAGE of one key.
 * Every farm is scripts/farm.sh; load comes from bench/lib/farmLoad.mjs in the client namespace.
 * Prints a Markdown report and writes it with the JSON to bench/results/farm-<time>.{md,json}.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { createConnection } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { cpuSeconds, processTree } from './lib/proc.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const FARM = path.join(ROOT, 'scripts', 'farm.sh');
const LOAD = path.join(ROOT, 'bench', 'lib', 'farmLoad.mjs');

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '32' },
    'max-instances': { type: 'string', default: '3' },
    entries: { type: 'string', default: '100000' },
  },
});
const durationS = Number(values.duration);
const connections = Number(values.connections);
const maxInstances = Number(values['max-instances']);
const entries = Number(values.entries);
for (const [name, v, lo, hi] of [
  ['duration', durationS, 1, 600],
  ['connections', connections, 1, 1000],
  ['max-instances', maxInstances, 1, 8],
  ['entries', entries, 1000, 5_000_000],
]) {
  if (!(Number.isInteger(v) && v >= lo && v <= hi)) {
    process.stderr.write(`bench/farm: --${name} must be a whole number in ${lo}..${hi}, not ${v}\n`);
    process.exit(2);
  }
}
if (process.getuid?.() !== 0) {
  process.stderr.write('bench/farm: needs root (scripts/farm.sh makes network namespaces)\n');
  process.exit(2);
}

const log = (msg) => process.stderr.write(`bench/farm: ${msg}\n`);

function run(file, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 << 20, ...opts }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function farmUp(dir, n, cache) {
  await fs.rm(dir, { recursive: true, force: true });
  // Without --ntlm, as the server's default: NTLM in the acceptor's mechanism set costs even
  // Kerberos handshakes (measured here: ~1,150/s without, ~700/s with, one instance).
  const env = { ...process.env, FARM_REPLAY_CACHE: cache, FARM_NTLM: '0' };
  await run('bash', [FARM, 'up', dir, String(n)], { env });
  const state = new Map();
  for (const line of (await fs.readFile(path.join(dir, 'farm.state'), 'utf8')).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) state.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return { dir, n, cache, state, get: (k) => state.get(k) ?? '' };
}

const farmDown = (farm) => run('bash', [FARM, 'down', farm.dir]);

/** One command on HAProxy's admin socket (a Unix socket: no namespace to enter). */
function haproxy(farm, command) {
  return new Promise((resolve, reject) => {
    const conn = createConnection(path.join(farm.dir, 'haproxy.sock'));
    let data = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${command}\n`));
    conn.on('data', (chunk) => (data += chunk));
    conn.on('end', () => resolve(data));
    conn.on('error', reject);
  });
}

/** PIDs of each part, for CPU accounting from /proc (the PID namespace is shared). */
function parts(farm) {
  const out = {};
  for (let i = 1; i <= farm.n; i++) out[`s${i}`] = processTree(Number(farm.get(`PID_s${i}`)));
  out.haproxy = processTree(Number(farm.get('PID_haproxy')));
  if (farm.get('PID_redis')) out.redis = processTree(Number(farm.get('PID_redis')));
  return out;
}

/**
 * What a phase measures: the PIDs of each part, the realm's env file, and the namespace the load
 * runs in (none: the root one).
 * @typedef {{ parts: () => Record<string, number[]>, envFile: string, ns?: string }} Target
 */

/** @returns {Target} */
const farmTarget = (farm) => ({
  parts: () => parts(farm),
  envFile: path.join(farm.get('REALM_DIR'), 'env'),
  ns: farm.get('NS_CL'),
});

/** One load phase against `url`; CPU seconds of every part over the phase. @param {Target} target */
async function phase(target, url, label) {
  // Enough for ~6,000/s, more than this machine reaches; more would only slow token making,
  // which a busy machine can push past the generator's deadline.
  const tokens = Math.min(2_000_000, durationS * 6_000);
  const before = Object.fromEntries(Object.entries(target.parts()).map(([k, pids]) => [k, cpuSeconds(pids)]));
  // The load child's own CPU is measured by runHttpLoad (loadgenCpuS) after token generation.
  const t0 = Date.now();
  const load = [LOAD, target.envFile, url, String(connections), String(durationS), String(tokens), label];
  const out = target.ns
    ? await run('ip', ['netns', 'exec', target.ns, process.execPath, ...load])
    : await run(process.execPath, load);
  const result = JSON.parse(out.trim().split('\n').pop());
  const after = Object.fromEntries(Object.entries(target.parts()).map(([k, pids]) => [k, cpuSeconds(pids)]));
  const cpu = Object.fromEntries(
    Object.keys(after).map((k) => [k, Math.round((after[k] - (before[k] ?? 0)) * 100) / 100]),
  );
  const instancesCpu = Object.entries(cpu)
    .filter(([k]) => /^s\d+$/.test(k))
    .reduce((a, [, v]) => a + v, 0);
  const perHs = (s) => (result.ok > 0 ? Math.round((s / result.ok) * 1e6) : 0);
  log(
    `${label}: ${result.rps}/s, ${result.errors} errors, instances ${perHs(instancesCpu)} µs CPU per handshake ` +
      `(${Date.now() - t0} ms)`,
  );
  return {
    label,
    rps: result.rps,
    ok: result.ok,
    errors: result.errors,
    errorKinds: result.errorKinds,
    p99Ms: result.latencyMs.p99,
    cpuS: cpu,
    usPerHandshake: {
      instances: perHs(instancesCpu),
      haproxy: perHs(cpu.haproxy ?? 0),
      redis: perHs(cpu.redis ?? 0),
      loadgen: perHs(result.loadgenCpuS),
    },
  };
}

async function setActive(farm, n) {
  for (let i = 1; i <= farm.n; i++) {
    await haproxy(farm, `set server http/s${i} state ${i <= n ? 'ready' : 'maint'}`);
  }
}

/** Bytes per replay entry in Redis: `entries` keys shaped like the cache's, then used_memory. */
async function redisBytesPerEntry(farm) {
  const ns = farm.get('NS_LB');
  const cli = ['netns', 'exec', ns, 'redis-cli', '-h', farm.get('LB_IP'), '-p', '6379'];
  const used = async () => Number(/used_memory:(\d+)/.exec(await run('ip', [...cli, 'info', 'memory']))?.[1]);
  // A real key when the instances wrote some (the cache's own format), else that format's shape:
  // the prefix, the service principal and a 32-hex tag (docs/configuration.md, --replay-cache-prefix).
  // The principal quota's counters are keys too, one per principal: only tag keys are sampled.
  const real = (await run('ip', [...cli, '--scan'])).split('\n').find((k) => /:[0-9a-f]{16,}$/.test(k));
  const prefix = real ? real.slice(0, real.lastIndexOf(':') + 1) : 'negotiate:rc:HTTP/localhost@KRBTEST.COM:';
  const tagHex = real ? real.length - prefix.length : 32;
  const sample = real ?? `${prefix}${'0'.repeat(tagHex)}`;
  await run('ip', [...cli, 'flushall']);
  const base = await used();
  const lines = [];
  for (let i = 0; i < entries; i++) {
    const tag = Buffer.alloc(Math.ceil(tagHex / 2));
    tag.writeUInt32BE(i, 0);
    tag.writeUInt32BE((i * 2654435761) >>> 0, tag.length - 4);
    lines.push(`SET ${prefix}${tag.toString('hex').slice(0, tagHex)} 1 NX PX 600000`);
  }
  // redis-cli --pipe reads the commands from a file: execFile has no stdin input.
  const commands = path.join(farm.dir, 'replay-entries.redis');
  await fs.writeFile(commands, `${lines.join('\r\n')}\r\n`);
  await run('bash', ['-c', 'f=$1; shift; exec ip "$@" --pipe <"$f"', 'pipe', commands, ...cli]);
  await fs.rm(commands);
  const dbsize = Number((await run('ip', [...cli, 'dbsize'])).trim());
  const grown = (await used()) - base;
  const one = Number((await run('ip', [...cli, 'memory', 'usage', `${prefix}${'0'.repeat(tagHex)}`])).trim());
  await run('ip', [...cli, 'flushall']);
  return {
    entries: dbsize,
    keyBytes: sample.length,
    usedMemoryDelta: grown,
    bytesPerEntry: Math.round(grown / dbsize),
    memoryUsageOfOneKey: one,
    sampleKeyIsReal: Boolean(real),
  };
}

function hasRedis() {
  const help = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'negotiate-server.js'), 'serve', '--help'], {
    encoding: 'utf8',
  });
  return help.includes('redis://');
}

const work = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-farm-bench-'));
const report = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  // Other work on the machine inflates every figure: the report says how busy it was.
  loadAverage: os.loadavg()[0].toFixed(1),
  durationS,
  connections,
  baseline: undefined,
  single: [],
  scaling: [],
  redisMemory: undefined,
  notes: [],
};
const caches = hasRedis() ? ['memory', 'redis'] : ['memory'];
if (caches.length === 1) report.notes.push('this build has no --replay-cache redis://: the Redis rows are missing');

/**
 * The reference: one server on 127.0.0.1 in the root namespace, no farm, the same load tool, at
 * the same time, so the farm's figures can be read against this machine's state at the moment.
 */
async function baseline() {
  const dir = path.join(work, 'baseline-realm');
  const cli = path.join(ROOT, 'bin', 'negotiate-server.js');
  await run(process.execPath, [cli, 'realm', 'up', dir]);
  const script = '. "$0"; exec "$@"';
  const args = ['serve', '--keytab', path.join(dir, 'keytab'), '--http', '127.0.0.1:0', '--replay-cache', 'memory'];
  const child = spawn(
    'bash',
    ['-c', script, path.join(dir, 'env'), process.execPath, cli, ...args, '--log-level', 'warn'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const port = await new Promise((resolve, reject) => {
      let text = '';
      child.stdout.on('data', (c) => {
        text += c;
        const m = /"frontend":"http","address":"127\.0\.0\.1","port":(\d+)/.exec(text);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error('the baseline server exited')));
    });
    const target = { parts: () => ({ s1: processTree(child.pid) }), envFile: path.join(dir, 'env') };
    return await phase(target, `http://127.0.0.1:${port}/whoami`, 'baseline: 1 server on loopback, memory');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await run(process.execPath, [cli, 'realm', 'down', dir]);
  }
}

try {
  report.baseline = await baseline();
  for (const cache of caches) {
    log(`one instance, replay cache ${cache}`);
    const farm = await farmUp(path.join(work, `single-${cache}`), 1, cache);
    try {
      report.single.push({
        cache,
        ...(await phase(farmTarget(farm), `http://${farm.get('IP_S1')}:8080/whoami`, `1 instance direct, ${cache}`)),
      });
    } finally {
      await farmDown(farm);
    }
  }
  const cache = caches[caches.length - 1];
  log(`${maxInstances} instances behind HAProxy, replay cache ${cache}`);
  const farm = await farmUp(path.join(work, 'scaling'), maxInstances, cache);
  try {
    for (let n = 1; n <= maxInstances; n++) {
      await setActive(farm, n);
      report.scaling.push({
        instances: n,
        cache,
        ...(await phase(farmTarget(farm), `http://${farm.get('LB_IP')}:80/whoami`, `${n} behind HAProxy, ${cache}`)),
      });
    }
    // Redis bytes per entry: from the redis farm, or a Redis of its own in the memory farm's namespace.
    if (cache === 'memory') await run('bash', [FARM, 'start', 'redis', farm.dir]);
    report.redisMemory = await redisBytesPerEntry(farm);
  } finally {
    await farmDown(farm);
  }
} finally {
  await fs.rm(work, { recursive: true, force: true });
}

const md = markdown(report);
process.stdout.write(md);
const stamp = report.date.replace(/[:.]/g, '-');
const out = path.join(ROOT, 'bench', 'results', `farm-${stamp}`);
await fs.writeFile(`${out}.json`, `${JSON.stringify(report, null, 2)}\n`);
await fs.writeFile(`${out}.md`, md);
log(`wrote ${out}.md and .json`);

function markdown(r) {
  const row = (p, first) =>
    `| ${first} | ${p.rps.toLocaleString('en')} | ${p.errors} | ${p.p99Ms} | ${p.usPerHandshake.instances} | ` +
    `${p.usPerHandshake.haproxy} | ${p.usPerHandshake.redis} | ${p.usPerHandshake.loadgen} |`;
  const head =
    '| | handshakes/s | errors | p99 ms | instances µs CPU/handshake | HAProxy µs | Redis µs | load generator µs |\n' +
    '| --- | --- | --- | --- | --- | --- | --- | --- |';
  const lines = [
    `# Farm benchmark ${r.date}`,
    '',
    `${r.machine.cpus} CPUs (${r.machine.model}), Node ${r.machine.node}; ${r.connections} connections, ` +
      `${r.durationS} s per phase, fresh tokens, HTTP /whoami; load average at the start ${r.loadAverage}.`,
    '',
    '## One instance, straight to its address',
    '',
    head,
    ...(r.baseline ? [row(r.baseline, 'baseline: no farm, loopback, memory')] : []),
    ...r.single.map((p) => row(p, `replay cache ${p.cache}`)),
    '',
    '## Through HAProxy',
    '',
    head,
    ...r.scaling.map((p) => row(p, `${p.instances} instance(s), ${p.cache}`)),
    '',
  ];
  if (r.redisMemory) {
    const m = r.redisMemory;
    lines.push(
      '## Redis memory per replay entry',
      '',
      `${m.entries.toLocaleString('en')} keys of ${m.keyBytes} bytes ` +
        `(${m.sampleKeyIsReal ? "the cache's own key shape" : 'the shape issue 15 gives'}), SET NX PX: used_memory ` +
        `grew ${m.usedMemoryDelta.toLocaleString('en')} bytes, **${m.bytesPerEntry} bytes per entry**; ` +
        `MEMORY USAGE of one key: ${m.memoryUsageOfOneKey} bytes.`,
      '',
    );
  }
  for (const n of r.notes) lines.push(`Note: ${n}`, '');
  return lines.join('\n');
}
