/**
 * The PAC decoders (native/src/pac/) under AddressSanitizer and UndefinedBehaviorSanitizer,
 * fed real PAC buffers from a Samba AD DC (test/fixtures/pac/), and a whole PAC assembled from them
 * (read through its header as the server reads one), mutated by native/test/pac_fuzz.cc: bounded
 * in count and time, with a fixed PRNG seed so a failure reproduces. No crash, no sanitizer
 * report, no SIDs invented beyond the bytes, no buffer found outside the PAC, the unmutated seeds
 * decode, and mutated whole PACs get through the header to the decoders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { requireTool } from '../support/realm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SOURCES = [
  'native/test/pac_fuzz.cc',
  'native/src/pac/text.cc',
  'native/src/pac/logon_info.cc',
  'native/src/pac/pac_buffers.cc',
  'native/src/pac/pac_container.cc',
];
const SEEDS = path.join(ROOT, 'test', 'fixtures', 'pac');

function run(
  file: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

test(
  'PAC decoders: 100,000 mutated real PACs under ASan/UBSan: no crash, no report, no invented SIDs',
  { timeout: 240_000 },
  async () => {
    const gxx = requireTool('g++', 'g++');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-pac-fuzz-'));
    try {
      const bin = path.join(dir, 'pac_fuzz');
      const flags = [
        '-std=c++17',
        '-O1',
        '-g',
        '-fsanitize=address,undefined',
        '-fno-sanitize-recover=all',
        '-fno-omit-frame-pointer',
      ];
      const built = await run(gxx, [...flags, ...SOURCES, '-o', bin], 180_000);
      assert.equal(built.code, 0, `building the fuzzer failed:\n${built.stderr}`);
      const seeds = (await readdir(SEEDS)).filter((f) => f.endsWith('.bin')).map((f) => path.join(SEEDS, f));
      assert.ok(
        seeds.some((f) => path.basename(f).startsWith('logon-info')),
        'no logon-info seed',
      );
      const r = await run(bin, ['--iterations', '100000', '--seconds', '30', '--seed', '0x5eed', ...seeds], 60_000);
      assert.equal(r.code, 0, `the fuzzer failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
      const summary = JSON.parse(r.stdout) as {
        iterations: number;
        accepted: number;
        refused: number;
        seeds: number;
        wholeAccepted: number;
      };
      assert.ok(summary.iterations >= 1000, `only ${summary.iterations} iterations ran`);
      // Both paths ran: mutations the decoder takes and mutations it refuses.
      assert.ok(summary.accepted > 0 && summary.refused > 0, JSON.stringify(summary));
      // The whole PAC was a seed, and mutated ones got past the header to the buffers' decoders.
      assert.equal(summary.seeds, seeds.length + 1, JSON.stringify(summary));
      assert.ok(summary.wholeAccepted > 0, JSON.stringify(summary));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
