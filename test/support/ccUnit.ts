/**
 * C++ unit checks of native parts, built from the addon's own sources with g++ under
 * AddressSanitizer and UndefinedBehaviorSanitizer and run: the program prints one line per
 * failed check and "N passed, M failed" last, and exits non-zero on failure.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * Builds `sources` (paths from the repository root) into one program, runs it, and fails the
 * test unless every check passed and at least `minChecks` ran (so a check that silently stops
 * running is noticed).
 */
export async function runCcUnit(name: string, sources: string[], minChecks: number): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), `${name}-`));
  try {
    const exe = path.join(dir, name);
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
        assert.fail(`g++ could not build ${name} (install g++: apt-get install g++): ${String(err)}`);
      },
    );
    const r = await run(exe, [], { timeout: 60_000 }).catch((err: { stdout?: string; stderr?: string }) => {
      assert.fail(`${name} checks failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    });
    const last = r.stdout.trim().split('\n').at(-1) ?? '';
    const m = /^(\d+) passed, 0 failed$/.exec(last);
    assert.ok(m, `unexpected output: ${r.stdout}`);
    assert.ok(Number(m[1]) >= minChecks, `every check ran (${m[1]} of at least ${minChecks})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The in-memory replay cache's sources (native/src/replay/), for the unit programs that test it. */
export const REPLAY_CACHE_SOURCES = [
  'replay_cache',
  'replay_clock',
  'replay_journal',
  'tag_keys',
  'tag_set',
  'siphash',
].map((f) => `native/src/replay/${f}.cc`);
