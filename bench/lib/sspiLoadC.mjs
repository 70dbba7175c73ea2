/**
 * Raw-TCP `sspi` load from a C event loop (bench/tcpload/sspi_load.c): one pre-framed token per
 * connection, each sent once, so the generator costs the shared cores a fraction of the Node
 * generator's (bench/lib/tcpLoad.mjs). Built with the system C compiler on first use into
 * bench/tcpload/build/; `loadgenCpuS` is the program's own CPU during the load (getrusage).
 * Result shape as tcpLoad.mjs / wrk.mjs, so reports treat them alike.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProgram } from './runProgram.mjs';
import { summaryResult } from './summaryResult.mjs';

const SOURCE = fileURLToPath(new URL('../tcpload/sspi_load.c', import.meta.url));
const BINARY = fileURLToPath(new URL('../tcpload/build/sspi_load', import.meta.url));

/** The built program; rebuilt when the source is newer. Throws with how to get a compiler. */
export function sspiLoadBinary() {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
  mkdirSync(path.dirname(BINARY), { recursive: true });
  const r = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-o', BINARY, SOURCE], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) {
    throw new Error(`cannot build ${SOURCE} (install a C compiler: apt-get install gcc): ${r.error ?? r.stderr}`);
  }
  return BINARY;
}

/**
 * @param {{ host: string, port: number, tokens: Buffer[], connections: number, durationS: number,
 *   serverName: string, scenario: string }} o
 * @returns {Promise<import('./httpLoad.mjs').LoadResult>}
 */
export async function runSspiLoadC(o) {
  if (o.tokens.length < 1) throw new Error('runSspiLoadC: no tokens');
  const bin = sspiLoadBinary();
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-sspi-c-'));
  try {
    const file = path.join(dir, 'frames');
    const frames = o.tokens.map((t) => {
      const f = Buffer.alloc(4 + t.length);
      f.writeUInt32LE(t.length, 0);
      t.copy(f, 4);
      return f;
    });
    writeFileSync(file, Buffer.concat(frames));
    const args = [o.host, String(o.port), String(o.connections), String(o.durationS), file];
    const { stdout, stderr, code } = await runProgram(bin, args, (o.durationS + 30) * 1000);
    if (code !== 0) throw new Error(`sspi_load exited with ${code}: ${stderr.trim().slice(-400)}`);
    const s = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    /** @type {Record<string, number>} */
    const errorKinds = {};
    for (const k of ['refused', 'connect', 'read', 'write', 'short', 'unfinished']) if (s[k] > 0) errorKinds[k] = s[k];
    // Shorter than asked when the tokens ran out first.
    return summaryResult(o, { ...s, requests: s.started }, errorKinds, s.cpuS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
