/**
 * Name pinning per front end ("Hostile clients II", item 11). `--principal` pins one acceptor
 * name for the whole process, so a host/ ticket was accepted on HTTP and an HTTP/ ticket on
 * sspi. With a principal per front end (Apache's GssapiAcceptorName per location), each front
 * end accepts only tickets for its own name, whatever else the keytab holds.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateGet } from '../support/httpGet.js';

import { NegotiateError } from '../../src/errors.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { firstTokens } from '../support/initiator.js';
import { RawConn, sendAndCollect } from '../support/rawConn.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';
import { encodeSspiFrame } from '../../src/framing/index.js';
import { ServerWatch } from './harness.js';

const T = { timeout: 60_000 };
let realm: ThrowawayRealm;
let pinned: TestServer;
let open: TestServer;
let watchPinned: ServerWatch;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  const http = { host: '127.0.0.1', port: 0 };
  pinned = await startTestServer(realm, {
    http,
    frontendPrincipals: { http: `HTTP/localhost@${realm.realmName}`, sspi: `host/localhost@${realm.realmName}` },
  });
  open = await startTestServer(realm, { http });
  watchPinned = new ServerWatch(pinned.server);
});
after(async () => {
  await pinned?.server.close();
  await open?.server.close();
  await realm?.destroy();
});

async function overHttp(port: number, token: Buffer): Promise<number> {
  return (await negotiateGet(port, token)).status;
}

test(
  'HTTP pinned to HTTP/localhost refuses a host/ ticket and accepts an HTTP/ one; unpinned accepts both',
  T,
  async () => {
    const [hostTicket, hostTicket2] = await firstTokens(realm, { mech: 'spnego', service: 'host@localhost' }, 2);
    const [httpTicket] = await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 1);
    assert.ok(hostTicket && hostTicket2 && httpTicket);
    assert.equal(await overHttp(open.httpPort, hostTicket2), 200, 'without pinning a host/ ticket gets in over HTTP');
    const m = watchPinned.mark();
    assert.equal(await overHttp(pinned.httpPort, hostTicket), 401);
    assert.equal((await watchPinned.failureSince(m)).code, 'ERR_GSS_WRONG_PRINCIPAL');
    assert.equal(await overHttp(pinned.httpPort, httpTicket), 200);
  },
);

test('sspi pinned to host/localhost refuses an HTTP/ ticket and accepts a host/ one', T, async () => {
  const [httpTicket] = await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 1);
  const [hostTicket] = await firstTokens(realm, { mech: 'spnego', service: 'host@localhost' }, 1);
  assert.ok(httpTicket && hostTicket);
  const m = watchPinned.mark();
  await sendAndCollect(pinned.sspiPort, encodeSspiFrame(httpTicket));
  assert.equal((await watchPinned.failureSince(m)).code, 'ERR_GSS_WRONG_PRINCIPAL');
  const m2 = watchPinned.mark();
  const c = await RawConn.connect(pinned.sspiPort);
  try {
    await c.write(encodeSspiFrame(hostTicket));
    await waitUntil(
      () => watchPinned.sessions.length > m2.sessions || watchPinned.failures.length > m2.failures,
      'the sspi handshake to end',
    );
    assert.equal(watchPinned.failures.length, m2.failures, 'no failure for the host/ ticket');
    assert.equal(watchPinned.sessions[m2.sessions]?.principal, realm.userPrincipal);
  } finally {
    c.destroy();
  }
});

test('a front-end principal the keytab has no key for refuses start', T, async () => {
  await assert.rejects(
    startTestServer(realm, { frontendPrincipals: { http: `HTTP/nowhere.example@${realm.realmName}` } }),
    (e: unknown) =>
      e instanceof NegotiateError && e.code === 'ERR_NO_CREDENTIALS' && /nowhere\.example/.test(e.message),
  );
});
