/**
 * Keytab rotation: the pool serves the keytab from a memory snapshot, so a keytab replaced on
 * disk changes nothing until a reload; after the reload new tickets are accepted, and sessions
 * established before it keep working. A broken replacement is refused and the keys in use stay.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AuthPool } from '../../src/pool/AuthPool.js';
import { Session } from '../../src/session.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { NegotiateError } from '../../src/errors.js';
import { startTestRealm } from '../support/realm.js';
import { FAULT_WORKER } from '../support/faultWorker.js';
import { failureCode } from '../support/outcome.js';
import { PYTHON, requirePythonGssapi, useRealm } from '../support/server.js';
import { FIXTURES, Initiator } from '../support/initiator.js';

let realm: ThrowawayRealm;
let dir: string;
let nextId = 7_000_000;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
  dir = await mkdtemp(path.join(realm.dir, 'reload-'));
});
after(async () => {
  await realm?.destroy();
});

/**
 * A first SPNEGO token from a client with a NEW ccache (fresh TGT), so its service ticket is
 * issued now, under the service's current key, rather than taken from an older cache.
 */
async function tokenWithFreshTicket(tag: string): Promise<Buffer> {
  const ccache = path.join(dir, `cc-${tag}`);
  await realm.kinit(realm.userPrincipal, realm.password, ccache);
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [path.join(FIXTURES, 'initiator.py'), '--mech', 'spnego', '--service', 'host@localhost', '--tokens', '1'],
      { env: { ...process.env, ...realm.env(), KRB5CCNAME: `FILE:${ccache}` }, timeout: 30_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`initiator.py failed: ${stderr}`)) : resolve(Buffer.from(stdout.trim(), 'base64'))),
    );
  });
}

test('a rotated keytab is used only after reloadKeytab(), on every worker, and established sessions survive it', async () => {
  const keytab = path.join(dir, 'service.keytab');
  await copyFile(realm.keytab, keytab);
  const pool = await AuthPool.start({ credentials: { keytab }, workers: 2, workerFile: FAULT_WORKER });
  try {
    assert.equal(pool.keytabGeneration(), 1);
    // A session established on the old keys.
    const id = nextId++;
    const ini = Initiator.start(realm, { mech: 'spnego' });
    try {
      const first = await ini.step();
      const step = await pool.accept(id, first.token);
      assert.equal(step.status, 'complete');
      if (step.status !== 'complete') return;
      await ini.step(step.output);
      const session = new Session(pool, { connectionId: id, frontend: 'sspi', remoteAddress: undefined, remotePort: undefined, ...step });

      // The administrator rotates host/localhost's key into a new file and moves it into place.
      const rotated = path.join(dir, 'rotated.keytab');
      await realm.rotateKey('host/localhost', rotated);
      await rename(rotated, keytab);

      const newTicketToken = await tokenWithFreshTicket('after-rotation');
      // Both workers still hold the old snapshot: the new kvno is unknown to them.
      for (let i = 0; i < 2; i++) {
        const code = await failureCode(pool.accept(nextId++, newTicketToken, { releaseAfter: true }));
        assert.notEqual(code, 'accepted', 'the replaced file is not read behind the pool\'s back');
      }

      const loaded = await pool.reloadKeytab();
      assert.equal(loaded.generation, 2);
      assert.equal(pool.keytabGeneration(), 2);
      assert.ok(loaded.entries >= 1);

      // Every worker takes the new keys: a fresh ticket accepted on one thread, then another
      // one with that thread held busy, so it must run on the other.
      const one = await pool.accept(nextId++, await tokenWithFreshTicket('after-reload-1'), { releaseAfter: true });
      assert.equal(one.status, 'complete');
      const other = await tokenWithFreshTicket('after-reload-2');
      const stall = await pool.stallWorkerWhile(one.workerThreadId);
      let two;
      try {
        two = await pool.accept(nextId++, other, { releaseAfter: true });
      } finally {
        stall.release();
        await stall.done;
      }
      assert.equal(two.status, 'complete');
      assert.notEqual(two.workerThreadId, one.workerThreadId, 'both worker threads accepted with the reloaded keytab');

      // The session from before the rotation still protects messages both ways.
      const wrapped = await session.wrap(Buffer.from('still here'));
      assert.deepEqual((await ini.unwrap(wrapped)).message, Buffer.from('still here'));
      const sealed = await ini.wrap(Buffer.from('client to server'));
      assert.deepEqual((await session.unwrap(sealed)).message, Buffer.from('client to server'));
      session.close();
    } finally {
      ini.close();
    }
  } finally {
    await pool.close();
  }
});

test('a broken replacement keytab is refused with a clear error and the keys in use stay in use', async () => {
  // The service's current key (the test above rotated it), in a file of this test's own.
  const keytab = path.join(dir, 'broken.keytab');
  await realm.rotateKey('host/localhost', keytab);
  const pool = await AuthPool.start({ credentials: { keytab }, workers: 1 });
  try {
    await writeFile(keytab, Buffer.from('not a keytab at all'));
    await assert.rejects(pool.reloadKeytab(), (err: unknown) => {
      assert.ok(err instanceof NegotiateError);
      assert.equal(err.code, 'ERR_KEYTAB_UNREADABLE');
      assert.match(err.message, /broken\.keytab/);
      return true;
    });
    await rm(keytab);
    await assert.rejects(pool.reloadKeytab(), /broken\.keytab cannot be read \(ENOENT\)/);
    assert.equal(pool.keytabGeneration(), 1, 'still on the snapshot from start');
    const t = await tokenWithFreshTicket('broken');
    const r = await pool.accept(nextId++, t, { releaseAfter: true });
    assert.equal(r.status, 'complete', 'handshakes go on with the keys loaded at start');
  } finally {
    await pool.close();
  }
});

test('a keytab named by KRB5_KTNAME=FILE:path is snapshotted and reloadable too', async () => {
  const saved = process.env['KRB5_KTNAME'];
  process.env['KRB5_KTNAME'] = `FILE:${realm.keytab}`;
  try {
    const pool = await AuthPool.start({ credentials: {}, workers: 1 });
    try {
      assert.equal((await pool.reloadKeytab()).generation, 2);
    } finally {
      await pool.close();
    }
  } finally {
    if (saved === undefined) delete process.env['KRB5_KTNAME'];
    else process.env['KRB5_KTNAME'] = saved;
  }
});
