/**
 * The KDC going away does not affect accepting. An acceptor verifies AP-REQs with its keytab
 * alone; only initiators talk to the KDC, and one that already holds a service ticket does not
 * need to. Proves: after one handshake put the host/localhost ticket in the client's ccache, the
 * KDC is stopped and its port taken over by a trap that records every contact; the same client
 * then completes handshakes (SPNEGO and raw Kerberos, python3-gssapi and MIT's gss-client) and
 * the trap sees nothing, so neither side contacted a KDC. A control (a ticket the client does
 * not have) shows the trap does catch a KDC contact.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { PYTHON, jsonLines, requirePythonGssapi, runClient, startTestServer, type TestServer, SSPI_CLIENT } from '../support/server.js';
import { collect } from '../support/events.js';

const gssClient = requireTool('gss-client', 'krb5-gss-samples');
const klist = requireTool('klist', 'krb5-user');

let realm: ThrowawayRealm;
let ts: TestServer;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, { workers: 2 });
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
});

/**
 * Listens on the KDC's TCP port and counts every contact. TCP is enough: the realm's krb5.conf
 * (udp_preference_limit = 1) makes every Kerberos client try TCP first, and UDP only after TCP
 * failed. UDP is left unbound on purpose: the fallback then fails at once (port unreachable)
 * instead of retrying for 17 s.
 */
async function kdcTrap(port: number): Promise<{ contacts: () => number; close: () => Promise<void> }> {
  let contacts = 0;
  const tcp = net.createServer((s) => {
    contacts += 1;
    s.destroy();
  });
  await new Promise<void>((resolve, reject) => tcp.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  return {
    contacts: () => contacts,
    close: () => new Promise<void>((resolve) => tcp.close(() => resolve())),
  };
}

async function sspiClient(args: string[]): Promise<Record<string, unknown>> {
  const run = await runClient(PYTHON, [SSPI_CLIENT, '--port', String(ts.sspiPort), '--timeout', '10', ...args], realm, 30_000);
  const line = jsonLines(run.stdout)[0];
  assert.ok(line, `sspi_client.py printed nothing: ${run.stderr}`);
  return line;
}

test('with the KDC stopped, a client holding its service ticket still authenticates; nobody contacts a KDC', { timeout: 60_000 }, async () => {
  // With the KDC up: the first handshake fetches the service ticket into the ccache.
  const first = await sspiClient(['--mech', 'spnego']);
  assert.equal(first['ok'], true, JSON.stringify(first));
  const tickets = await runClient(klist, ['-c', `FILE:${realm.ccache}`], realm);
  assert.equal(tickets.code, 0, tickets.stderr);
  assert.match(tickets.stdout, /host\/localhost@KRBTEST\.COM/, 'the service ticket is cached');

  const port = realm.kdcPort;
  await realm.stop();
  const trap = await kdcTrap(port);
  const sessions = collect<Session>(ts.server, 'session');
  try {
    for (const mech of ['spnego', 'krb5', 'spnego', 'krb5']) {
      const r = await sspiClient(['--mech', mech]);
      assert.equal(r['ok'], true, `${mech} without a KDC: ${JSON.stringify(r)}`);
      assert.equal(r['greeting'], 'This is your server speaking');
    }
    const mit = await runClient(gssClient, ['-port', String(ts.gssSamplePort), '-mcount', '1', 'localhost', 'host@localhost', 'hello without a KDC'], realm);
    assert.equal(mit.code, 0, `gss-client without a KDC: ${mit.stdout} ${mit.stderr}`);
    assert.match(mit.stdout, /Signature verified/);
    assert.equal(sessions.items.length, 5, 'the server accepted every handshake');
    for (const s of sessions.items) assert.equal(s.principal, realm.userPrincipal);
    assert.equal(trap.contacts(), 0, 'neither the clients nor the server contacted the KDC');

    // Control: a service the client has no ticket for needs the KDC, and the trap sees it.
    const control = await sspiClient(['--mech', 'krb5', '--service', 'HTTP@localhost']);
    assert.equal(control['ok'], false, 'without a KDC no new service ticket can be had');
    assert.ok(trap.contacts() > 0, 'the trap records a KDC contact when there is one');
    assert.equal(sessions.items.length, 5);
  } finally {
    sessions.stop();
    await trap.close();
  }
  const s = ts.server.pool.stats();
  assert.equal(s.live, 0);
});
