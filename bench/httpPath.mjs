#!/usr/bin/env node
/**
 * The main thread's own work per handshake on the uWS HTTP path, without the pool: an
 * HttpAcceptor whose pool answers every token with a completed Kerberos step one event-loop
 * turn later (as a worker's result arrives), the server's info log line into a file through the
 * CLI's buffered destination, and its metrics counted from the 'session' event. wrk sends the
 * same Authorization header on every request (nothing checks it), so no tokens are made and
 * the process does nothing but the HTTP path: its CPU per request is what our code, uWS and
 * loopback TCP cost the main thread. A/B between builds, each run in a fresh process,
 * alternating, medians:
 *
 *   node bench/httpPath.mjs [--a ROOT] [--b ROOT] [--connections 16] [--duration S] [--rounds N]
 *
 * (internally: node bench/httpPath.mjs --serve ROOT CONNECTIONS DURATION 2>LOGFILE)
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, rmSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    a: { type: 'string', default: path.join(here, '..') },
    b: { type: 'string' },
    connections: { type: 'string', default: '16' },
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '5' },
    serve: { type: 'string' },
  },
  allowPositionals: true,
});

if (values.serve !== undefined) await serve(values.serve, Number(values.connections), Number(values.duration));
else await compare();

/** One measured run of the build at `root`, in this process; prints one JSON line on stdout. */
async function serve(root, connections, durationS) {
  const load = (/** @type {string} */ p) => import(pathToFileURL(path.join(root, 'dist', 'src', p)).href);
  const { HttpAcceptor } = await load('acceptors/HttpAcceptor.js');
  const { ServerMetrics } = await load('metrics/ServerMetrics.js');
  const { createPinoLogger, fromPinoCompatible } = await load('logger.js');
  const { createStderrLogDestination } = await load('logDestination.js');
  const destination = createStderrLogDestination();
  const logger = fromPinoCompatible(createPinoLogger('info', destination.stream));
  const flags = {
    mutual: true,
    replay: true,
    sequence: true,
    integrity: true,
    confidentiality: true,
    delegation: false,
    anonymous: false,
    channelBound: false,
    bits: 62,
  };
  const output = randomBytes(160);
  let requests = 0;
  const pool = {
    delegatedCredentials: undefined,
    release: () => true,
    accept: () =>
      new Promise((resolve) =>
        setImmediate(() => {
          requests++;
          resolve({
            status: 'complete',
            principal: 'alice@KRBTEST.COM',
            mech: 'krb5',
            spnego: true,
            flags,
            expiresAt: Date.now() + 3_600_000,
            lifetime: 3600,
            output,
          });
        }),
      ),
  };
  const acceptor = new HttpAcceptor({ pool, logger });
  // State sources are read only at scrape time, which this run never does.
  const metrics = new ServerMetrics({ sources: {} });
  acceptor.on('session', (s) => metrics.recordSuccess(s));
  acceptor.on('handshakeFailed', (f) => metrics.recordFailure(f));
  const { port } = await acceptor.listen(0, '127.0.0.1');
  const header = `Authorization: Negotiate ${randomBytes(1300).toString('base64')}`;
  const url = `http://127.0.0.1:${port}/whoami`;
  // Warm-up (JIT), then the measured run.
  await wrk(['-t', '1', '-c', String(connections), '-d', '1s', '-H', header, url]);
  const r0 = requests;
  const c0 = process.cpuUsage();
  const out = await wrk(['-t', '1', '-c', String(connections), '-d', `${durationS}s`, '-H', header, url]);
  const c = process.cpuUsage(c0);
  const n = requests - r0;
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
  await acceptor.close(100);
  process.stdout.write(
    JSON.stringify({ requests: n, cpuUs: (c.user + c.system) / n, rps: n / durationS, non2xx: Number(non2xx) }) + '\n',
  );
  process.exit(0);
}

function wrk(args) {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}`))));
  });
}

async function compare() {
  const roots = [values.a, ...(values.b ? [values.b] : [])].map((r) => path.resolve(r));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'negotiate-httppath-'));
  /** @type {Map<string, Array<{ cpuUs: number, rps: number }>>} */
  const results = new Map(roots.map((r) => [r, []]));
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      const order = round % 2 === 0 ? roots : [...roots].reverse();
      for (const root of order) {
        const logFile = path.join(dir, 'log');
        const fd = openSync(logFile, 'w');
        const run = spawnSync(
          process.execPath,
          [
            fileURLToPath(import.meta.url),
            '--serve',
            root,
            '--connections',
            values.connections,
            '--duration',
            values.duration,
          ],
          { stdio: ['ignore', 'pipe', fd], timeout: (Number(values.duration) + 30) * 1000 },
        );
        closeSync(fd);
        const line = run.stdout?.toString().trim().split('\n').at(-1) ?? '';
        if (run.status !== 0 || !line.startsWith('{'))
          throw new Error(`run failed (${run.status}): ${readFileSync(logFile, 'utf8').slice(-800)}`);
        const r = JSON.parse(line);
        results.get(root)?.push(r);
        const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
        process.stderr.write(
          `round ${round + 1} ${root}: ${r.cpuUs.toFixed(2)} µs/request, ${Math.round(r.rps)}/s, ` +
            `non-2xx ${r.non2xx}, ` +
            `log lines ${readFileSync(logFile, 'utf8').split('\n').length - 1}, load ${load}\n`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (/** @type {number[]} */ xs) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
  for (const [root, rows] of results) {
    process.stdout.write(
      `${root}: median ${median(rows.map((r) => r.cpuUs)).toFixed(2)} µs CPU per request ` +
        `(${rows.map((r) => r.cpuUs.toFixed(1)).join(', ')}), ${Math.round(median(rows.map((r) => r.rps)))}/s\n`,
    );
  }
}
