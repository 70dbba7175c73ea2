/**
 * The delegated-credential store's file bookkeeping, on plain files in a temporary directory:
 * names, holders, ordering of renames and removals, bounds, leftovers. The real ccaches written
 * by the addon are tested against a realm in test/native/delegatedCredentials.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DelegatedCredentials } from '../../src/delegation/DelegatedCredentials.js';

async function withStore(
  fn: (store: DelegatedCredentials, dir: string) => Promise<void>,
  maxFiles?: number,
): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-deleg-unit-'));
  try {
    const store = await DelegatedCredentials.open({ dir, ...(maxFiles !== undefined ? { maxFiles } : {}) });
    try {
      await fn(store, dir);
    } finally {
      await store.close();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

let serial = 0;
/** A file as the addon leaves it: a temporary name in the directory, with `content`. */
async function written(dir: string, content: string, mode = 0o644): Promise<{ path: string; lifetime: number }> {
  const file = path.join(dir, `.deleg-t${serial++}`);
  await fs.writeFile(file, content, { mode });
  return { path: file, lifetime: 3600 };
}

test('adopt renames to the principal’s name, 0600; a newer credential of the principal replaces the file', async () => {
  await withStore(async (store, dir) => {
    const first = await store.adopt(await written(dir, 'one'), 'alice@R', 1);
    assert.equal(first, path.join(dir, 'alice@R'));
    assert.equal((await fs.stat(first)).mode & 0o777, 0o600);
    const second = await store.adopt(await written(dir, 'two'), 'alice@R', 2);
    assert.equal(second, first);
    assert.equal(await fs.readFile(first, 'utf8'), 'two');
    assert.deepEqual(await fs.readdir(dir), ['alice@R']);
    assert.equal(store.size, 1);
  });
});

test('a hostile principal lands in the directory under its escaped name', async () => {
  await withStore(async (store, dir) => {
    const kept = await store.adopt(await written(dir, 'x'), '../../escape@R', 1);
    assert.equal(kept, path.join(dir, '%2E.%2F..%2Fescape@R'));
    assert.deepEqual(await fs.readdir(dir), ['%2E.%2F..%2Fescape@R']);
    await assert.rejects(fs.access(path.join(dir, '..', '..', 'escape@R')));
  });
});

test('only the addon’s temporary files in this directory are adopted', async () => {
  await withStore(async (store, dir) => {
    const elsewhere = path.join(os.tmpdir(), `.deleg-elsewhere-${process.pid}`);
    await fs.writeFile(elsewhere, 'x');
    try {
      assert.equal(await store.adopt({ path: elsewhere, lifetime: 60 }, 'alice@R', 1), undefined);
      await fs.access(elsewhere); // untouched
      const plain = path.join(dir, 'bob@R');
      await fs.writeFile(plain, 'x');
      assert.equal(await store.adopt({ path: plain, lifetime: 60 }, 'alice@R', 1), undefined);
    } finally {
      await fs.rm(elsewhere, { force: true });
    }
  });
});

test('a release and a new credential of the same principal run in order: the new file survives', async () => {
  await withStore(async (store, dir) => {
    const kept = await store.adopt(await written(dir, 'old'), 'alice@R', 1);
    assert.ok(kept);
    const released = store.releaseHolder(1);
    const next = store.adopt(await written(dir, 'new'), 'alice@R', 2);
    await Promise.all([released, next]);
    assert.equal(await next, kept);
    assert.equal(await fs.readFile(kept, 'utf8'), 'new');
  });
});

test('a connection holds one credential; adopting again for it lets the earlier one go', async () => {
  await withStore(async (store, dir) => {
    const a = await store.adopt(await written(dir, 'a'), 'alice@R', 7);
    const b = await store.adopt(await written(dir, 'b'), 'bob@R', 7);
    assert.ok(a && b);
    assert.deepEqual(await fs.readdir(dir), ['bob@R']);
    await store.releaseHolder(7);
    assert.deepEqual(await fs.readdir(dir), []);
  });
});

test('maxFiles: a new principal beyond it is refused unless ended credentials make room', async () => {
  await withStore(async (store, dir) => {
    assert.ok(await store.adopt({ ...(await written(dir, 'a')), lifetime: 0 }, 'alice@R', 1));
    assert.ok(await store.adopt(await written(dir, 'b'), 'bob@R', 2), 'alice’s has ended: swept for room');
    assert.equal(await store.adopt(await written(dir, 'c'), 'carol@R', 3), undefined);
    assert.ok(await store.adopt(await written(dir, 'b2'), 'bob@R', 4), 'a replacement needs no room');
    assert.deepEqual((await fs.readdir(dir)).sort(), ['bob@R']);
  }, 1);
});

test('an indefinite credential is never swept; close removes everything, later adopts keep nothing', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-deleg-unit-'));
  try {
    const store = await DelegatedCredentials.open({ dir });
    const kept = await store.adopt({ ...(await written(dir, 'x')), lifetime: null }, 'alice@R', 1);
    assert.ok(kept);
    assert.equal(await store.sweep(Number.MAX_SAFE_INTEGER), 0);
    const stray = await written(dir, 'lost result');
    await store.close();
    assert.deepEqual(await fs.readdir(dir), [], 'kept files and temporary files removed');
    const late = await written(dir, 'late');
    assert.equal(await store.adopt(late, 'bob@R', 2), undefined);
    await assert.rejects(fs.access(late.path));
    await assert.rejects(fs.access(stray.path));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('open removes temporary files a crashed run left, and nothing else', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-deleg-unit-'));
  try {
    await fs.chmod(dir, 0o700);
    await fs.writeFile(path.join(dir, '.deleg-crashed'), 'x');
    await fs.writeFile(path.join(dir, 'someone-else'), 'x');
    const store = await DelegatedCredentials.open({ dir });
    assert.deepEqual(await fs.readdir(dir), ['someone-else']);
    await store.close();
    assert.deepEqual(await fs.readdir(dir), ['someone-else'], 'close removes only what the store made');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('maxFiles must be a positive whole number', async () => {
  await assert.rejects(
    DelegatedCredentials.open({ dir: os.tmpdir(), maxFiles: 0 }),
    (err: Error & { code?: string }) => err.code === 'ERR_CONFIG',
  );
});
