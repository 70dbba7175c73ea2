/**
 * A keytab the server cannot use at start: `negotiate-server serve` exits 1 before listening,
 * with ERR_KEYTAB_UNREADABLE naming the file. A missing file is covered by
 * test/integration/cli.test.ts; here: a keytab that exists but the service user cannot read
 * (the common deployment mistake: root-owned 0600, server run as another user), for which the
 * message also names the fix, and paths that are not keytabs at all.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';

// Compiled to dist/test/faults/: the repository root is three levels up.
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'negotiate-server.js');
/** An unprivileged user to run the server as ("nobody" on Debian). */
const NOBODY = 65534;

let realm: ThrowawayRealm;
let scratch: string;

before(async () => {
  realm = await startTestRealm();
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-keytab-test-'));
  // Traversable by the unprivileged user, so only the keytab's own mode is in the way.
  await fs.chmod(scratch, 0o755);
});

after(async () => {
  await realm?.destroy();
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function serve(keytab: string, opts: { uid?: number } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C', KRB5_CONFIG: realm.krb5Config };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'serve', '--keytab', keytab, '--sspi', '127.0.0.1:0', '--workers', '1'],
      { env, timeout: 30_000, ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}) },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

test('a keytab the service user cannot read: exit 1, ERR_KEYTAB_UNREADABLE, the file, EACCES and the fix', { timeout: 40_000 }, async () => {
  if (process.getuid?.() !== 0) {
    // As a non-root user, a file of ours with mode 000 is unreadable to us already.
    const keytab = path.join(scratch, 'mode000.keytab');
    await fs.copyFile(realm.keytab, keytab);
    await fs.chmod(keytab, 0o000);
    const r = await serve(keytab);
    assertUnreadable(r, keytab);
    return;
  }
  const keytab = path.join(scratch, 'root-only.keytab');
  await fs.copyFile(realm.keytab, keytab);
  await fs.chmod(keytab, 0o600);
  // The same keytab works for its owner: only the permission is wrong.
  const asRoot = await serveUntilListening(keytab);
  assert.ok(asRoot, 'root, the owner, can start with this keytab');
  const r = await serve(keytab, { uid: NOBODY });
  assertUnreadable(r, keytab);
});

function assertUnreadable(r: Run, keytab: string): void {
  assert.equal(r.code, 1, `exit code: ${r.code}\n${r.stderr}`);
  assert.equal(r.stdout, '', 'no listening line');
  assert.match(r.stderr, /ERR_KEYTAB_UNREADABLE/);
  assert.ok(r.stderr.includes(keytab), `the message names ${keytab}: ${r.stderr}`);
  assert.match(r.stderr, /EACCES/);
  assert.match(r.stderr, /service user can read it/, 'the message names the fix');
}

/** Starts the server with `keytab` until its first listening line, then stops it (by PID). */
async function serveUntilListening(keytab: string): Promise<boolean> {
  const child = spawn(process.execPath, [BIN, 'serve', '--keytab', keytab, '--sspi', '127.0.0.1:0', '--workers', '1', '--log-level', 'silent'], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', KRB5_CONFIG: realm.krb5Config, KRB5RCACHEDIR: realm.rcacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 20_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (d.includes('"event":"listening"')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  } finally {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
  }
}

test('paths that are not keytabs (a directory, random bytes, an empty file): exit 1, ERR_KEYTAB_UNREADABLE naming the file', { timeout: 40_000 }, async () => {
  const garbage = path.join(scratch, 'garbage.keytab');
  await fs.writeFile(garbage, 'this is not a keytab\n');
  const empty = path.join(scratch, 'empty.keytab');
  await fs.writeFile(empty, '');
  for (const [keytab, reason] of [
    [scratch, /Is a directory/],
    [garbage, /format version/i],
    [empty, /format version/i],
  ] as const) {
    const r = await serve(keytab);
    assert.equal(r.code, 1, `${keytab}: exit code ${r.code}\n${r.stderr}`);
    assert.equal(r.stdout, '', 'no listening line');
    assert.match(r.stderr, /ERR_KEYTAB_UNREADABLE/, r.stderr);
    assert.ok(r.stderr.includes(keytab), `the message names ${keytab}: ${r.stderr}`);
    assert.match(r.stderr, reason);
  }
});
