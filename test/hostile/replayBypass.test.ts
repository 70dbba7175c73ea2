/**
 * `--replay-cache memory` against the bypass reported in "Hostile clients II" (item 0): a
 * captured AP-REQ re-encoded so that a second parser of the token disagrees with MIT's decoder
 * about which authenticator it holds. The tag now comes from the context MIT accepted (client,
 * authenticator subkey, sequence number), so every re-encoding of a seen authenticator is a
 * replay, and nothing a peer sends before its context completes is stored.
 *
 * Each attack is first shown to be accepted by MIT with no replay cache at all, so the bytes
 * are ones MIT really decodes as the victim's request, not garbage refused for another reason.
 * NTLM is on here: without it an SPNEGO opening with no Kerberos token fails at once
 * (halfHandshakes.test.ts), and the two-leg attack needs a first leg that continues.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateGet } from '../support/httpGet.js';

import { AuthPool } from '../../src/pool/AuthPool.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { loadNative } from '../../src/native.js';
import { firstTokens } from '../support/initiator.js';
import { failureCode } from '../support/outcome.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import {
  decoyNegTokenInit,
  fakeKrb5Token,
  hideAuthenticator,
  negTokenResp,
  obscureApReq,
  spnegoAround,
} from './apReqRewrite.js';
import { tokensFromCcache } from './realTokens.js';

const T = { timeout: 60_000 };
let realm: ThrowawayRealm;
let ts: TestServer;
/** MIT with no replay cache: accepts any valid AP-REQ, however often. */
let unprotected: AuthPool;
let nextId = 7_000_000;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, { replayCache: 'memory', ntlm: true, http: { host: '127.0.0.1', port: 0 } });
  unprotected = await AuthPool.start({
    credentials: { keytab: realm.keytab, replayCache: 'none', ntlm: true },
    workers: 1,
  });
});
after(async () => {
  await unprotected?.close();
  await ts?.server.close();
  await realm?.destroy();
});

const pool = (): AuthPool => ts.server.pool;
const once = (p: AuthPool, token: Buffer): Promise<string> =>
  failureCode(p.accept(nextId++, token, { releaseAfter: true }));

function getWhoami(token: Buffer): Promise<{ status: number; body: string }> {
  return negotiateGet(ts.httpPort, token);
}

test(
  'single leg over HTTP: the authenticator hidden behind a high-tag [4], a fake [4] appended, is a replay every time',
  T,
  async () => {
    const [krb5] = await firstTokens(realm, { mech: 'krb5', service: 'HTTP@localhost' }, 1);
    assert.ok(krb5);
    const captured = spnegoAround(krb5);
    const rewritten = [0, 1, 2].map(() => spnegoAround(hideAuthenticator(krb5)));
    assert.equal(new Set(rewritten.map((t) => t.toString('hex'))).size, 3, 'three different byte strings');
    for (const t of rewritten)
      assert.equal(await once(unprotected, t), 'accepted', 'MIT decodes the rewritten token as the genuine request');

    const before = pool().replayStats();
    const genuine = await getWhoami(captured);
    assert.equal(genuine.status, 200, `the genuine login: ${genuine.body}`);
    assert.match(genuine.body, /alice@/);
    const asCaptured = await getWhoami(captured);
    assert.equal(asCaptured.status, 401);
    assert.match(asCaptured.body, /ERR_GSS_REPLAY|replay/i);
    for (const t of rewritten) {
      const r = await getWhoami(t);
      assert.equal(r.status, 401, `a rewritten copy must not log in: ${r.body}`);
      assert.match(r.body, /ERR_GSS_REPLAY|replay/i);
    }
    const after = pool().replayStats();
    assert.equal(after.recorded - before.recorded, 1, 'one authenticator recorded: the genuine one');
    assert.equal(after.replays - before.replays, 4);
  },
);

test(
  'single leg, raw krb5 and SPNEGO, through the pool: each rewritten copy of a seen authenticator is ERR_GSS_REPLAY',
  T,
  async () => {
    for (const wrap of [(t: Buffer) => t, spnegoAround]) {
      const [krb5] = await firstTokens(realm, { mech: 'krb5' }, 1);
      assert.ok(krb5);
      assert.equal(await once(pool(), wrap(krb5)), 'accepted');
      for (let i = 0; i < 3; i++) assert.equal(await once(pool(), wrap(hideAuthenticator(krb5))), 'ERR_GSS_REPLAY');
    }
    assert.equal(pool().stats().live, 0);
  },
);

test(
  'two legs: a decoy NegTokenInit, then the victim AP-REQ re-encoded (7f 0e, bf 04, long lengths), is a replay',
  T,
  async () => {
    const [victim] = await firstTokens(realm, { mech: 'krb5' }, 1);
    assert.ok(victim);
    const leg1 = decoyNegTokenInit(fakeKrb5Token(victim));
    const leg2 = negTokenResp(obscureApReq(victim));

    // MIT answers the decoy with "continue" and completes on the re-encoded AP-REQ.
    const probe = nextId++;
    assert.equal((await unprotected.accept(probe, leg1)).status, 'continue');
    const done = await unprotected.accept(probe, leg2, { releaseAfter: true });
    assert.equal(done.status, 'complete');
    assert.ok(done.status === 'complete' && done.principal.startsWith('alice@'));

    assert.equal(await once(pool(), spnegoAround(victim)), 'accepted', "the victim's own login");
    const before = pool().replayStats();
    const id = nextId++;
    assert.equal((await pool().accept(id, leg1)).status, 'continue');
    assert.equal(pool().replayStats().recorded, before.recorded, 'a leg that did not complete stores nothing');
    assert.equal(await failureCode(pool().accept(id, leg2, { releaseAfter: true })), 'ERR_GSS_REPLAY');
    assert.equal(pool().stats().live, 0, 'both contexts freed');
  },
);

test(
  'unfinished openings store nothing: 300 decoys, 100 forged authenticators leave a 1-slot cache free for a login',
  T,
  async () => {
    const addon = loadNative();
    const { entries } = pool().replayStats();
    addon.configureReplayCache({ capacity: entries + 1, principalQuota: 1_000_000 });
    try {
      const [real] = await firstTokens(realm, { mech: 'krb5' }, 1);
      assert.ok(real);
      const before = pool().replayStats();
      for (let i = 0; i < 300; i++) {
        const id = nextId++;
        assert.equal((await pool().accept(id, decoyNegTokenInit(fakeKrb5Token(real)))).status, 'continue');
        pool().release(id);
      }
      for (let i = 0; i < 100; i++) assert.match(await once(pool(), fakeKrb5Token(real)), /^ERR_GSS_/);
      const after = pool().replayStats();
      assert.equal(after.recorded, before.recorded);
      assert.equal(after.entries, before.entries);
      assert.equal(after.refusedFull, before.refusedFull);
      assert.equal(await once(pool(), real), 'accepted', 'the last slot is still there for a real client');
    } finally {
      addon.configureReplayCache({ capacity: 8_000_000 });
    }
  },
);

test(
  'one principal cannot fill the cache: beyond its quota it gets ERR_REPLAY_QUOTA, another principal is accepted',
  T,
  async () => {
    const bobCcache = `${realm.dir}/bob-${process.pid}.ccache`;
    await realm.addPrincipal('bob', { password: realm.password });
    await realm.kinit('bob', realm.password, bobCcache);
    const [bobToken] = await tokensFromCcache(realm, bobCcache, { mech: 'spnego' }, 1);
    const aliceTokens = await firstTokens(realm, { mech: 'spnego' }, 3);
    assert.ok(bobToken && aliceTokens.length === 3);

    const addon = loadNative();
    const { entries } = pool().replayStats(); // every tag so far is alice's
    addon.configureReplayCache({ capacity: 1_000_000, principalQuota: entries + 2 });
    try {
      const before = pool().replayStats();
      assert.equal(before.principalQuota, entries + 2);
      const codes = [];
      for (const t of aliceTokens) codes.push(await once(pool(), t));
      assert.deepEqual(codes, ['accepted', 'accepted', 'ERR_REPLAY_QUOTA']);
      assert.equal(await once(pool(), bobToken), 'accepted', 'bob has his own quota');
      const after = pool().replayStats();
      assert.equal(after.refusedQuota - before.refusedQuota, 1);
      assert.equal(after.recorded - before.recorded, 3);
    } finally {
      addon.configureReplayCache({ capacity: 8_000_000 });
    }
  },
);
