/**
 * Credential-less half-handshakes ("Hostile clients II", item 5). With NTLM off, an SPNEGO
 * opening that carries no Kerberos token (no mechToken, or one for a mechanism the server
 * refuses, or a field MIT stops at) can never complete: a client without a ticket never sends
 * one. It used to hold a context until the handshake deadline, so one thread opening 250 of
 * them over WebSocket filled `--max-contexts 200` and every real client got 503. Now it fails
 * at once (ERR_GSS_NO_KERBEROS_TOKEN) and keeps nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateGet } from '../support/httpGet.js';
import WebSocket from 'ws';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { firstTokens } from '../support/initiator.js';
import { failureCode } from '../support/outcome.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';
import { decoyNegTokenInit, fakeKrb5Token, KRB5_OID } from './apReqRewrite.js';
import { legitHandshake, ServerWatch } from './harness.js';
import { MADE_UP_OIDS, negTokenInit, NTLMSSP_OID } from './spnegoDer.js';

const T = { timeout: 60_000 };
let realm: ThrowawayRealm;
let ts: TestServer;
let watch: ServerWatch;
let nextId = 8_000_000;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, { http: { host: '127.0.0.1', port: 0 }, wsPath: '/ws', maxContexts: 200 });
  watch = new ServerWatch(ts.server);
});
after(async () => {
  await ts?.server.close();
  await realm?.destroy();
});

test(
  'SPNEGO openings without a Kerberos token fail at once with ERR_GSS_NO_KERBEROS_TOKEN and keep no context',
  T,
  async () => {
    const [real] = await firstTokens(realm, { mech: 'krb5' }, 1);
    assert.ok(real);
    const openings: Array<[string, Buffer]> = [
      ['krb5 offered, no mechToken', negTokenInit([KRB5_OID])],
      [
        'an unknown mechanism first with its token, krb5 second',
        negTokenInit([MADE_UP_OIDS[0], KRB5_OID], Buffer.from('not a token')),
      ],
      ['krb5 offered, a field MIT stops at, then a forged AP-REQ', decoyNegTokenInit(fakeKrb5Token(real))],
    ];
    const pool = ts.server.pool;
    const before = pool.stats();
    for (const [what, token] of openings) {
      const id = nextId++;
      assert.equal(await failureCode(pool.accept(id, token)), 'ERR_GSS_NO_KERBEROS_TOKEN', what);
      assert.equal(pool.stats().live, before.live, `${what}: no context kept`);
      assert.equal(pool.release(id), false, `${what}: nothing left to release`);
    }
    // The real token still completes in one leg: only openings that cannot progress are refused.
    assert.equal(await failureCode(pool.accept(nextId++, real, { releaseAfter: true })), 'accepted');
  },
);

test(
  '250 ticketless openings over WebSocket from one client do not fill --max-contexts 200; a real client gets in',
  T,
  async () => {
    const m = watch.mark();
    const opening = negTokenInit([KRB5_OID]);
    const sockets = await Promise.all(
      Array.from({ length: 250 }, () => {
        const ws = new WebSocket(`ws://127.0.0.1:${ts.httpPort}/ws`);
        ws.on('error', () => {});
        return new Promise<WebSocket>((resolve, reject) => {
          ws.once('open', () => {
            ws.send(opening);
            resolve(ws);
          });
          ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
        });
      }),
    );
    try {
      await waitUntil(
        () => watch.failures.length - m.failures >= 250,
        () => `250 failures, have ${watch.failures.length - m.failures}`,
        20_000,
      );
      const codes = new Set(watch.failures.slice(m.failures).map((f) => f.code));
      assert.deepEqual(
        [...codes],
        ['ERR_GSS_NO_KERBEROS_TOKEN'],
        'each opening refused for what it is, none for a full table',
      );
      assert.equal(ts.server.pool.stats().handshaking, 0, 'no half-handshake holds a context');
      await legitHandshake(watch, realm, ts, 'sspi');
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  },
);

test(
  'HTTP tells a ticketless client why (the 127.0.0.1 trap): 401 naming the missing ticket and the host name to use',
  T,
  async () => {
    for (const opening of [negTokenInit([KRB5_OID]), negTokenInit([NTLMSSP_OID])]) {
      const m = watch.mark();
      const r = await negotiateGet(ts.httpPort, opening);
      assert.equal(r.status, 401);
      assert.match(r.body, /sent no Kerberos ticket for this service/);
      assert.match(r.body, /host name the service principal names/);
      const f = await watch.failureSince(m);
      assert.equal(f.code, 'ERR_GSS_NO_KERBEROS_TOKEN');
      assert.match(f.message, /no Kerberos ticket/);
    }
  },
);
