#!/usr/bin/env node
/**
 * Micro-benchmark of the pool's hand-off (issue 14; docs/benchmarks.md, "Hand-off"): a no-op
 * call through each design, N calls kept in flight, CPU of the whole process (all threads,
 * process.cpuUsage) per call and latency percentiles.
 *
 *   node bench/handoff.mjs [--calls N] [--seconds S] [--repeats R] [--workers W] [--json]
 *                          [--designs piscina,native,native-accept,sab] [--in-flight 1,16,64]
 *                          [--threads]
 *                          [--payload none|accept]
 *
 * --payload accept (native design only) sends what an HTTP accept leg sends — a 1.4 KB token —
 * and gets back a completed leg's result (principal, flags, a 160-byte output token) from a
 * worker that runs no GSSAPI: the hand-off's cost with the pool's real values on the wire. The
 * design `native-accept` is the native design with that payload, interleaved with the others.
 * --threads adds each run's CPU per call by thread (main thread apart, /proc/self/task) on stderr.
 *
 * Designs: `piscina` (today's path: BatchDispatcher + one Piscina task per batch), `native`
 * (src/pool/NativeHandoff.ts: workers parked on the addon's queue, results through one
 * ThreadSafeFunction), `sab` (prototype: a SharedArrayBuffer mailbox per worker, Atomics.wait in
 * the worker, Atomics.waitAsync on the main thread). Each design × in-flight count runs in a
 * fresh child process; each run is bounded in calls and seconds; medians of the repeats.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { handoffMarkdown } from './lib/handoffMicro.mjs';
import { threadCpu, threadCpuPerCall } from './lib/threadCpu.mjs';
import { median } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ALL_DESIGNS = ['piscina', 'native', 'native-accept', 'sab'];

const { values } = parseArgs({
  options: {
    calls: { type: 'string' },
    seconds: { type: 'string' },
    repeats: { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'boolean' },
    child: { type: 'string' },
    'in-flight': { type: 'string' },
    designs: { type: 'string' },
    threads: { type: 'boolean' },
    payload: { type: 'string' },
  },
});
const DESIGNS = (values.designs ?? ALL_DESIGNS.join(',')).split(',');
for (const d of DESIGNS) {
  if (!ALL_DESIGNS.includes(d)) throw new Error(`bench/handoff: unknown design ${d} (${ALL_DESIGNS.join(', ')})`);
}
const payload = values.child === 'native-accept' ? 'accept' : (values.payload ?? 'none');
if (payload !== 'none' && payload !== 'accept') throw new Error('bench/handoff: --payload must be none or accept');
const IN_FLIGHT = (values['in-flight'] ?? '1,16,64').split(',').map(Number);
for (const n of IN_FLIGHT) {
  if (!Number.isInteger(n) || n <= 0) throw new Error('bench/handoff: --in-flight must be positive integers');
}
const calls = Number(values.calls ?? 50_000);
const seconds = Number(values.seconds ?? 3);
const repeats = Number(values.repeats ?? 3);
const workers = Number(values.workers ?? 2);
for (const [k, v] of Object.entries({ calls, seconds, repeats, workers })) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bench/handoff: --${k} must be a positive number`);
}

if (values.child) {
  const r = await runOne(values.child, Number(values['in-flight']));
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
} else {
  await main();
}

async function main() {
  /**
   * @type {Array<{ design: string, inFlight: number, cpuUsPerCall: number, callsPerS: number, p50Us: number,
   *   p99Us: number }>}
   */
  const rows = [];
  for (const inFlight of IN_FLIGHT) {
    /** @type {Record<string, Array<any>>} */
    const runs = Object.fromEntries(DESIGNS.map((d) => [d, []]));
    // Repeats interleave the designs so drift hits all alike.
    for (let r = 0; r < repeats; r++) {
      for (const design of DESIGNS) {
        const out = spawnSync(
          process.execPath,
          [
            fileURLToPath(import.meta.url),
            '--child',
            design,
            '--in-flight',
            String(inFlight),
            '--calls',
            String(calls),
            '--seconds',
            String(seconds),
            '--workers',
            String(workers),
            ...(values.threads ? ['--threads'] : []),
            '--payload',
            payload,
          ],
          { encoding: 'utf8', timeout: (seconds + 30) * 1000 },
        );
        if (out.status !== 0) throw new Error(`bench/handoff ${design} x${inFlight} failed: ${out.stderr}`);
        if (values.threads) process.stderr.write(out.stderr);
        runs[design].push(JSON.parse(out.stdout.trim().split('\n').pop()));
      }
    }
    for (const design of DESIGNS) {
      const m = (/** @type {string} */ k) => median(runs[design].map((x) => x[k]));
      rows.push({
        design,
        inFlight,
        cpuUsPerCall: m('cpuUsPerCall'),
        callsPerS: m('callsPerS'),
        p50Us: m('p50Us'),
        p99Us: m('p99Us'),
      });
    }
  }
  if (values.json) {
    process.stdout.write(JSON.stringify({ workers, calls, seconds, repeats, rows }, null, 2) + '\n');
    return;
  }
  process.stdout.write(handoffMarkdown({ workers, calls, seconds, repeats, rows }));
}

/** One design at one in-flight count: keeps `inFlight` calls going until `calls` or `seconds`. */
async function runOne(design, inFlight) {
  const call = await makeCaller(design === 'native-accept' ? 'native' : design);
  // Warm-up: threads started, code paths compiled.
  await drive(call.run, Math.min(2000, calls), inFlight, 2);
  const threads0 = values.threads ? threadCpu() : {};
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const latencies = await drive(call.run, calls, inFlight, seconds);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (values.threads) {
    const perThread = threadCpuPerCall(threads0, threadCpu(), latencies.length);
    process.stderr.write(`${design} x${inFlight} µs/call by thread: ${JSON.stringify(perThread)}\n`);
  }
  await call.close();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 1000;
  return {
    design,
    inFlight,
    calls: latencies.length,
    cpuUsPerCall: (cpu.user + cpu.system) / latencies.length,
    callsPerS: latencies.length / wallS,
    p50Us: q(0.5),
    p99Us: q(0.99),
  };
}

async function drive(run, total, inFlight, maxSeconds) {
  const latencies = [];
  const deadline = performance.now() + maxSeconds * 1000;
  let started = 0;
  async function lane() {
    while (started < total && performance.now() < deadline) {
      const n = started++;
      const t = performance.now();
      const r = await run(n);
      if (r !== n) throw new Error(`no-op answered ${r} for ${n}`);
      latencies.push(performance.now() - t);
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
  return latencies;
}

async function makeCaller(design) {
  const dist = path.join(here, '..', 'dist', 'src');
  const workerFile = path.join(here, 'lib', 'handoffWorker.mjs');
  const { WorkerThreads } = await import(pathToFileURL(path.join(dist, 'pool', 'WorkerThreads.js')).href);
  const { loadNative } = await import(pathToFileURL(path.join(dist, 'native.js')).href);
  // The bench worker ignores the credentials: a no-op needs none.
  const setup = { credentials: {}, table: { maxContexts: 1000, handshakeTtlMs: 30_000 } };
  const threads = new WorkerThreads({ threads: workers, maxQueue: 100_000, taskTimeoutMs: 60_000, setup, workerFile });
  await Promise.all(Array.from({ length: workers }, () => threads.run('batch', [])));
  if (design === 'piscina') {
    const { BatchDispatcher } = await import(pathToFileURL(path.join(dist, 'pool', 'BatchDispatcher.js')).href);
    const d = new BatchDispatcher(workers, 100_000, (batch) => threads.run('batch', batch));
    return { run: (n) => d.submit(n), close: () => threads.close() };
  }
  if (design === 'native') {
    const { NativeHandoff } = await import(pathToFileURL(path.join(dist, 'pool', 'NativeHandoff.js')).href);
    const h = new NativeHandoff(
      loadNative(),
      (req, signal) => threads.serve(req, signal),
      (v) => v,
      {
        workers,
        limit: 100_000,
        taskTimeoutMs: 60_000,
      },
    );
    // The pool's wire format: an object per call (an integer alone is not an object).
    const token = new Uint8Array(1400).fill(1);
    const run =
      payload === 'accept'
        ? (n) => h.submit({ op: 'accept', id: n, token, releaseAfter: true }).then((r) => r.workerThreadId)
        : (n) => h.submit({ n }).then((r) => r.n);
    return {
      run,
      close: async () => {
        await h.close(new Error('closed'));
        await threads.close();
      },
    };
  }
  return sabCaller(threads);
}

/** Prototype (b): one SharedArrayBuffer mailbox per worker, calls spread round-robin. */
async function sabCaller(threads) {
  const RING = 1024;
  const boxes = Array.from({ length: workers }, () => {
    const sab = new SharedArrayBuffer((4 + 2 * RING) * 4);
    const cells = new Int32Array(sab);
    const box = {
      cells,
      posted: 0,
      seen: 0,
      waiters: new Map(),
      done: threads.run('mailbox', { sab, ring: RING }, 3_600_000),
    };
    (async () => {
      for (;;) {
        const r = Atomics.waitAsync(cells, 2, box.seen);
        if (r.async) await r.value;
        if (Atomics.load(cells, 3) !== 0) return;
        const upTo = Atomics.load(cells, 2);
        for (; box.seen !== upTo; box.seen++) {
          const resolve = box.waiters.get(box.seen);
          box.waiters.delete(box.seen);
          resolve(cells[4 + RING + (box.seen % RING)]);
        }
      }
    })();
    return box;
  });
  let next = 0;
  return {
    run: (n) => {
      const box = boxes[next++ % boxes.length];
      const slot = box.posted++;
      box.cells[4 + (slot % RING)] = n;
      const p = new Promise((resolve) => box.waiters.set(slot, resolve));
      Atomics.store(box.cells, 0, box.posted);
      Atomics.notify(box.cells, 0);
      return p;
    },
    close: async () => {
      for (const b of boxes) {
        Atomics.store(b.cells, 3, 1);
        Atomics.notify(b.cells, 0);
        Atomics.store(b.cells, 2, b.cells[2] + 1);
        Atomics.notify(b.cells, 2);
      }
      await Promise.all(boxes.map((b) => b.done.catch(() => {})));
      await threads.close();
    },
  };
}
