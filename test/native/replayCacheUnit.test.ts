/**
 * The in-memory replay cache's C++ parts on a clock the test moves (test/native/cc/
 * replay_cache_unit.cc): expiry after the window on both clocks, a wall clock stepped back by an
 * hour or jumping a day ahead, capacity, the per-principal quota across generations, the tag
 * set through growth and SipHash against its reference vectors. Built here with g++ under
 * AddressSanitizer and UndefinedBehaviorSanitizer, from the same sources as the addon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sources = [
  'test/native/cc/replay_cache_unit.cc',
  ...['replay_cache', 'replay_clock', 'tag_set', 'siphash'].map((f) => `native/src/replay/${f}.cc`),
];

test(
  'replay cache units: clocks, expiry, capacity, quota, tag set, SipHash (ASan + UBSan)',
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'replay-unit-'));
    try {
      const exe = path.join(dir, 'replay_cache_unit');
      const flags = [
        '-std=c++17',
        '-O1',
        '-g',
        '-Wall',
        '-Wextra',
        '-Werror',
        '-fsanitize=address,undefined',
        '-fno-sanitize-recover=all',
      ];
      await run('g++', [...flags, '-o', exe, ...sources.map((s) => path.join(root, s))], { timeout: 110_000 }).catch(
        (err: unknown) => {
          assert.fail(
            `g++ could not build the replay cache unit test (install g++: apt-get install g++): ${String(err)}`,
          );
        },
      );
      const r = await run(exe, [], { timeout: 60_000 }).catch((err: { stdout?: string; stderr?: string }) => {
        assert.fail(`replay cache unit checks failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
      });
      const last = r.stdout.trim().split('\n').at(-1) ?? '';
      const m = /^(\d+) passed, 0 failed$/.exec(last);
      assert.ok(m, `unexpected output: ${r.stdout}`);
      assert.ok(Number(m[1]) >= 39, `every check ran (${m[1]})`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
