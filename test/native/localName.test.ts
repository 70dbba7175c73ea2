/**
 * Local names (credentials.localName) against a real realm whose krb5.conf has `auth_to_local`
 * rules: `gss` follows them through gss_localname, `strip-realm` drops the realm of a
 * one-component principal of the service's realm, `off` gives none; a principal nothing maps
 * still authenticates, without a local name. The name reaches the identity and the Session.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { AuthPool, type AcceptStep } from '../../src/pool/AuthPool.js';
import type { LocalNameMode } from '../../src/pool/localName.js';
import { identityFromStep, sessionFromStep } from '../../src/handshake/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { Initiator } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';

let realm: ThrowawayRealm;
let adminCcache: string;
let nextId = 4_000_000;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm({
    realmSettings: [
      // alice is alice_local; other one-component names map to themselves (DEFAULT); nothing else maps.
      'auth_to_local = RULE:[1:$1@$0](^alice@KRBTEST\\.COM$)s/@.*$/_local/',
      'auth_to_local = DEFAULT',
    ],
  });
  useRealm(realm);
  await realm.addPrincipal('bob', { password: realm.password });
  await realm.addPrincipal('alice/admin', { password: realm.password });
  adminCcache = `FILE:${path.join(realm.dir, 'admin.ccache')}`;
  await realm.kinit('alice/admin@KRBTEST.COM', realm.password, adminCcache);
});
after(async () => {
  await realm?.destroy();
});

type Complete = Extract<AcceptStep, { status: 'complete' }>;

/** A handshake of the ccache's user (default alice) on a pool with `mode`; `fn` sees the step and the pool. */
async function handshakeAs(
  mode: LocalNameMode,
  ccache?: string,
  fn?: (step: Complete, pool: AuthPool) => void,
): Promise<Complete> {
  const pool = await AuthPool.start({ credentials: { keytab: realm.keytab, localName: mode }, workers: 1 });
  const ini = Initiator.start(realm, { mech: 'spnego', ...(ccache !== undefined ? { ccache } : {}) });
  try {
    const id = nextId++;
    const step = await pool.accept(id, (await ini.step()).token);
    assert.equal(step.status, 'complete');
    fn?.(step, pool);
    pool.release(id);
    return step;
  } finally {
    ini.close();
    await pool.close();
  }
}

test('gss: the realm’s auth_to_local rule maps alice to alice_local, on the identity and the Session', async () => {
  const step = await handshakeAs('gss', undefined, (s, pool) => {
    const session = sessionFromStep(pool, s, {
      connectionId: 1,
      frontend: 'sspi',
      remoteAddress: undefined,
      remotePort: undefined,
    });
    assert.equal(session.localName, 'alice_local');
    assert.equal(session.toJSON().localName, 'alice_local');
  });
  assert.equal(step.principal, 'alice@KRBTEST.COM');
  assert.equal(step.localName, 'alice_local');
  // Carried by the identity every front end builds.
  assert.equal(identityFromStep(step).localName, 'alice_local');
});

test('gss: DEFAULT maps another one-component principal to its name', async () => {
  const bobCcache = `FILE:${path.join(realm.dir, 'bob.ccache')}`;
  await realm.kinit('bob@KRBTEST.COM', realm.password, bobCcache);
  const step = await handshakeAs('gss', bobCcache);
  assert.equal(step.principal, 'bob@KRBTEST.COM');
  assert.equal(step.localName, 'bob');
});

test('gss: a principal no rule maps authenticates without a local name', async () => {
  const step = await handshakeAs('gss', adminCcache);
  assert.equal(step.principal, 'alice/admin@KRBTEST.COM');
  assert.equal(step.localName, undefined);
  assert.equal('localName' in identityFromStep(step), false);
});

test('strip-realm: alice of the service’s realm is alice; a two-component principal has none', async () => {
  assert.equal((await handshakeAs('strip-realm')).localName, 'alice');
  assert.equal((await handshakeAs('strip-realm', adminCcache)).localName, undefined);
});

test('off (the default): no local name', async () => {
  assert.equal((await handshakeAs('off')).localName, undefined);
});

test('NTLM: no local name in either mode (gss-ntlmssp maps none, no realm to strip), handshake completes', async () => {
  for (const mode of ['gss', 'strip-realm'] as const) {
    const pool = await AuthPool.start({
      credentials: { keytab: realm.keytab, ntlm: true, localName: mode },
      workers: 1,
    });
    const ini = Initiator.start(realm, { mech: 'ntlm' });
    try {
      const id = nextId++;
      let out = await ini.step();
      let step = await pool.accept(id, out.token);
      while (step.status === 'continue') {
        out = await ini.step(step.output);
        step = await pool.accept(id, out.token);
      }
      assert.equal(step.mech, 'ntlmssp');
      assert.equal(step.principal, 'KRBTEST\\alice');
      assert.equal(step.localName, undefined, mode);
      pool.release(id);
    } finally {
      ini.close();
      await pool.close();
    }
  }
});

test('an unknown mode is refused at start', async () => {
  await assert.rejects(
    AuthPool.start({ credentials: { keytab: realm.keytab, localName: 'rules' as LocalNameMode }, workers: 1 }),
    (err: Error & { code?: string }) =>
      err.code === 'ERR_CONFIG' && /local name must be off, gss, strip-realm/.test(err.message),
  );
});
