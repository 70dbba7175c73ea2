/**
 * HTTP Negotiate load through wrk (Debian `wrk`), the cheapest load generator at hand: a C event
 * loop with a Lua script (wrk-tokens.lua) that sends one pre-made token per request, never
 * reused. Same result shape as httpLoad.mjs (autocannon), so the two are reported side by side;
 * `loadgenCpuS` is wrk's own CPU time (user + system, from the shell's `times`).
 *
 * A request counts as ok only when it is a 200 with the mutual-authentication token. wrk's
 * latency histogram has 1 µs resolution and covers every request (errors included).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProgram } from './runProgram.mjs';
import { summaryResult } from './summaryResult.mjs';

const SCRIPT = fileURLToPath(new URL('./wrk-tokens.lua', import.meta.url));

/**
 * @param {{ url: string, tokens: Buffer[], connections: number, durationS: number, serverName: string,
 *   scenario: string, threads?: number, timeoutS?: number }} o
 *   threads: wrk threads (default 1: one core of load generator is plenty for ~20,000 req/s and
 *   leaves the other to the server).
 * @returns {Promise<import('./httpLoad.mjs').LoadResult>}
 */
export async function runWrkLoad(o) {
  if (o.tokens.length < 1) throw new Error('runWrkLoad: no tokens');
  const threads = Math.max(1, Math.min(o.threads ?? 1, o.connections));
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-wrk-'));
  try {
    const file = path.join(dir, 'tokens');
    writeFileSync(file, o.tokens.map((t) => t.toString('base64')).join('\n') + '\n');
    const url = new URL(o.url);
    const args = [
      '-t',
      String(threads),
      '-c',
      String(o.connections),
      '-d',
      `${o.durationS}s`,
      '--timeout',
      `${o.timeoutS ?? 5}s`,
      '-s',
      SCRIPT,
      `${url.protocol}//${url.host}`,
      '--',
      file,
      String(threads),
      `${url.pathname}${url.search}`,
    ];
    // `times` prints the shell's children's CPU: wrk's own, which /proc no longer has once it exited.
    const script = 'wrk "$@"; rc=$?; times >&2; exit $rc';
    const { stderr, code } = await runProgram('bash', ['-c', script, 'wrk', ...args], (o.durationS + 60) * 1000);
    if (code !== 0) throw new Error(`wrk exited with ${code}: ${stderr.trim().slice(-400)}`);
    const line = stderr.split('\n').find((l) => l.startsWith('{"durationUs"'));
    if (!line) throw new Error(`wrk printed no summary: ${stderr.trim().slice(-400)}`);
    const s = JSON.parse(line);
    // `times` prints the shell's own CPU, then its children's (wrk): the last line is wrk's.
    const cpu = [...stderr.matchAll(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/gm)].at(-1);
    const loadgenCpuS = cpu ? Number(cpu[1]) * 60 + Number(cpu[2]) + Number(cpu[3]) * 60 + Number(cpu[4]) : NaN;
    /** @type {Record<string, number>} */
    const errorKinds = {};
    for (const [k, v] of [
      ['noMutualToken', s.noMutualToken],
      ['status', s.status],
      ['socketError', s.connect + s.read + s.write],
      ['timeout', s.timeout],
    ]) {
      if (v > 0) errorKinds[k] = v;
    }
    return summaryResult(o, s, errorKinds, loadgenCpuS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One unmeasured second of wrk at 16 connections against `http://127.0.0.1:port/whoami`: JIT,
 * the server's workers and credentials, its buffers, warm before the measured phases.
 * @param {{ port: number, tokens: Buffer[], serverName: string }} o
 */
export function warmUpWithWrk(o) {
  return runWrkLoad({
    url: `http://127.0.0.1:${o.port}/whoami`,
    tokens: o.tokens,
    connections: 16,
    durationS: 1,
    serverName: o.serverName,
    scenario: 'warm-up',
  });
}
