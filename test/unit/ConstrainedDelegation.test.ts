/**
 * ConstrainedDelegation without a KDC: its options and directory are checked before anything
 * is written, leftovers of a crashed run are removed at start, and nothing runs after close.
 * The KDC exchanges themselves: test/integration/constrainedDelegationAd.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { ConstrainedDelegation, S4U_FILE_PREFIX } from '../../src/s4u/ConstrainedDelegation.js';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-s4u-unit-'));
  await chmod(dir, 0o700);
  return dir;
}

test('start refuses a directory others can write to, and bad options', async () => {
  const dir = await tempDir();
  try {
    await chmod(dir, 0o777);
    await assert.rejects(ConstrainedDelegation.start({ service: 'svc@EXAMPLE.COM', dir }), {
      code: 'ERR_CONFIG',
      message: /writable by its group or by others/,
    });
    await chmod(dir, 0o700);
    await assert.rejects(ConstrainedDelegation.start({ service: '', dir }), { code: 'ERR_CONFIG' });
    await assert.rejects(ConstrainedDelegation.start({ service: 'svc@EXAMPLE.COM', dir, threads: 0 }), {
      code: 'ERR_CONFIG',
      message: /threads/,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("start removes a crashed run's ccaches and nothing else; no call after close", async () => {
  const dir = await tempDir();
  try {
    await writeFile(path.join(dir, `${S4U_FILE_PREFIX}AbCdEf`), 'old ticket', { mode: 0o600 });
    await writeFile(path.join(dir, 'alice@EXAMPLE.COM'), 'a delegated credential', { mode: 0o600 });
    const s4u = await ConstrainedDelegation.start({ service: 'svc@EXAMPLE.COM', dir });
    assert.deepEqual(await readdir(dir), ['alice@EXAMPLE.COM']);
    await s4u.close();
    await s4u.close();
    await assert.rejects(s4u.credentialFor('alice@EXAMPLE.COM', 'host@db.example.com'), { code: 'ERR_POOL_CLOSED' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
