/**
 * The realm directory's files (src/realm/state.ts): what `realm up DIR` writes and
 * `realm down DIR` reads back, the `. DIR/env` file, and the empty-directory rule.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { ConfigError } from '../../src/errors.js';
import * as state from '../../src/realm/state.js';

const run = promisify(execFile);
const scratch: string[] = [];
after(() => Promise.all(scratch.map((d) => fs.rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-test-'));
  scratch.push(dir);
  return dir;
}

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'ERR_REALM');
    assert.match(err.message, pattern);
    return true;
  });
}

const sample: state.RealmState = {
  realm: 'KRBTEST.COM',
  user: 'alice',
  password: 's3cret',
  kdcPort: 61088,
  detached: true,
};

test('realmFiles: the names the CLI, the docs and other processes rely on', () => {
  const f = state.realmFiles('/r');
  assert.equal(f.envFile, '/r/env');
  assert.equal(f.stateFile, '/r/realm.json');
  assert.equal(f.pidFile, '/r/kdc.pid');
  assert.equal(f.krb5Config, '/r/krb5.conf');
  assert.equal(f.kdcProfile, '/r/kdc.conf');
  // Spread into a plain object type so Object.values sees the fields' type, string.
  const paths: Record<string, string> = { ...f };
  for (const p of Object.values(paths)) {
    assert.ok(p === '/r' || path.dirname(p) === '/r', `${p} is outside the realm directory`);
  }
});

test('saveState + loadState round-trip; the file is mode 0600 because it holds the password', async () => {
  const file = path.join(await tempDir(), 'realm.json');
  await state.saveState(file, sample);
  assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
  assert.deepEqual(await state.loadState(file), sample);
  const saved: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
  assert.ok(typeof saved === 'object' && saved !== null && 'format' in saved);
  assert.equal(saved.format, 1);
});

test('loadState refuses a missing file, and a file that is not a realm state, naming it', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'realm.json');
  await refused(state.loadState(file), new RegExp(`cannot load the realm in ${dir}: reading ${file} failed`));
  const cases: Array<[unknown, RegExp]> = [
    [[1, 2], /not a JSON object/],
    [null, /not a JSON object/],
    [{ ...sample, format: 2 }, /unsupported format 2/],
    [{ ...sample, format: 1, realm: 'A"B' }, /bad "realm"/],
    [{ ...sample, format: 1, user: 'a b' }, /bad "user"/],
    [{ ...sample, format: 1, password: 7 }, /bad "password"/],
    [{ ...sample, format: 1, kdcPort: '88' }, /bad "kdcPort"/],
    [{ ...sample, format: 1, detached: 'yes' }, /bad "detached"/],
  ];
  for (const [content, pattern] of cases) {
    await fs.writeFile(file, JSON.stringify(content));
    await refused(state.loadState(file), new RegExp(`${file} is not a realm state file: ${pattern.source}`));
  }
  await fs.writeFile(file, '{');
  await refused(state.loadState(file), /reading .* failed: .*JSON/);
});

test('readPidFile: a positive integer, else undefined', async () => {
  const file = path.join(await tempDir(), 'kdc.pid');
  assert.equal(await state.readPidFile(file), undefined);
  await state.writePidFile(file, 4242);
  assert.equal(await fs.readFile(file, 'utf8'), '4242\n');
  assert.equal(await state.readPidFile(file), 4242);
  for (const text of ['', '0', '-5', '12x', 'abc', '007']) {
    await fs.writeFile(file, text);
    assert.equal(await state.readPidFile(file), undefined, JSON.stringify(text));
  }
});

test('the env file gives sh back every value byte for byte, and stays 0600 when rewritten', async () => {
  const file = path.join(await tempDir(), 'env');
  const vars = {
    PLAIN: 'x',
    SPACES: 'a b  c',
    QUOTES: `it's "q"`,
    SHELL_CHARS: '$HOME `id` $(id) \\ ; & |',
    BACKSLASH: 'KRBTEST\\alice',
  };
  await fs.writeFile(file, 'old', { mode: 0o644 });
  await state.writeEnvFile(file, 'KRBTEST.COM', vars);
  assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
  const text = await fs.readFile(file, 'utf8');
  assert.match(text, /^# Throwaway Kerberos realm KRBTEST\.COM; holds a password\./);
  const script = '. "$1"; shift; for n in "$@"; do eval "printf \'%s\\0\' \\"\\$$n\\""; done';
  const args = ['-c', script, 'sh', file, ...Object.keys(vars)];
  const { stdout } = await run('/bin/sh', args, { env: { PATH: '/usr/bin:/bin' } });
  assert.deepEqual(stdout.split('\0').slice(0, -1), Object.values(vars));
});

test('prepareEmptyDir creates a missing directory 0700, accepts an empty one, refuses one with files', async () => {
  const base = await tempDir();
  const made = path.join(base, 'a', 'b');
  await state.prepareEmptyDir(made);
  assert.equal((await fs.stat(made)).mode & 0o777, 0o700);
  await state.prepareEmptyDir(made);
  await fs.writeFile(path.join(made, 'precious'), 'keep');
  await refused(state.prepareEmptyDir(made), /the directory is not empty \(precious\); pass a new or empty directory/);
  assert.deepEqual(await fs.readdir(made), ['precious']);
  await refused(state.prepareEmptyDir(path.join(made, 'precious')), /cannot use .* as a realm directory/);
});
