/**
 * Unauthenticated gss-sample sessions ("Hostile clients II", item 1). A client that opens with a
 * NOOP without CONTEXT_NEXT (MIT gss-client's `-na` mode) used to switch the handshake deadline
 * off, and each DATA frame reset the idle timer: five such sockets against
 * `--max-connections 5` kept the real gss-client out for as long as they kept talking, with no
 * credentials. Now such sessions are refused at once (ERR_UNAUTHENTICATED_REFUSED); with
 * `gssSampleAllowUnauthenticated` they are served but closed at the handshake deadline like any
 * other connection that has not authenticated.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { encodeGssSampleFrame, TokenFlag } from '../../src/framing/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { RawConn } from '../support/rawConn.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { runClient, startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';
import { legitHandshake, recordingLogger, ServerWatch } from './harness.js';

const T = { timeout: 90_000 };
const MAX_CONNECTIONS = 5;
const HANDSHAKE_TIMEOUT_MS = 1500;
const NOOP = encodeGssSampleFrame(TokenFlag.NOOP);

let realm: ThrowawayRealm;
/** The default: unauthenticated sessions refused. */
let refusing: TestServer;
let refusingWatch: ServerWatch;
/** gssSampleAllowUnauthenticated: the old behaviour, bounded by the handshake deadline. */
let allowing: TestServer;
let allowingWatch: ServerWatch;
const conns: RawConn[] = [];

before(async () => {
  realm = await startTestRealm();
  const limits = { maxConnections: MAX_CONNECTIONS, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, idleTimeoutMs: 60_000 };
  const refusingLog = recordingLogger();
  refusing = await startTestServer(realm, { ...limits, logger: refusingLog.logger });
  refusingWatch = new ServerWatch(refusing.server, refusingLog.records);
  allowing = await startTestServer(realm, { ...limits, gssSampleAllowUnauthenticated: true });
  allowingWatch = new ServerWatch(allowing.server);
});
after(async () => {
  for (const c of conns) c.destroy();
  await refusing?.server.close();
  await allowing?.server.close();
  await realm?.destroy();
});

/**
 * `n` raw sockets that open an unauthenticated session and then send a plain DATA frame every
 * 200 ms (each one answered by a NOOP while the server serves them), as long as they are open.
 */
async function chattyAnonymous(port: number, n: number): Promise<{ conns: RawConn[]; stop: () => void }> {
  const opened: RawConn[] = [];
  for (let i = 0; i < n; i++) {
    const c = await RawConn.connect(port);
    conns.push(c);
    opened.push(c);
    await c.write(NOOP);
  }
  const timer = setInterval(() => {
    for (const c of opened)
      if (!c.closed) c.write(encodeGssSampleFrame(TokenFlag.DATA, Buffer.from('still here'))).catch(() => {});
  }, 200);
  return { conns: opened, stop: () => clearInterval(timer) };
}

test(
  "default: NOOP without CONTEXT_NEXT is ERR_UNAUTHENTICATED_REFUSED at once; five such sockets don't block gss-client",
  T,
  async () => {
    const w = refusingWatch;
    const m = w.mark();
    const before = w.stats();
    const started = Date.now();
    const attack = await chattyAnonymous(refusing.gssSamplePort, MAX_CONNECTIONS);
    try {
      for (const c of attack.conns) {
        const closedAt = await c.waitClosed(5000);
        assert.ok(
          closedAt - started < 1000,
          `an unauthenticated socket closed ${closedAt - started} ms after it opened`,
        );
        assert.equal(c.buffered.length, 0, 'no NOOP answer: the session never started');
      }
      await waitUntil(() => w.failures.length - m.failures >= MAX_CONNECTIONS, 'a failure per socket');
      for (const f of w.failures.slice(m.failures)) {
        assert.equal(f.code, 'ERR_UNAUTHENTICATED_REFUSED', f.message);
        assert.equal(f.frontend, 'gss-sample');
        assert.match(f.message, /gssSampleAllowUnauthenticated|--gss-sample-allow-unauthenticated/);
      }
      const line = w.logs
        .slice(m.logs)
        .find((r) => r.msg === 'handshake failed' && r.fields['code'] === 'ERR_UNAUTHENTICATED_REFUSED');
      assert.ok(line, 'a handshake failed log line with the code');
      assert.equal(line.level, 'info');
      assert.equal((await w.drained()).created, before.created, 'no security context');
      // The real client gets one of the five slots the attackers held.
      await legitHandshake(w, realm, refusing, 'gss-sample');
    } finally {
      attack.stop();
    }
  },
);

test('default: the real gss-client -na is refused, with the code in the failure', T, async () => {
  const w = refusingWatch;
  const m = w.mark();
  const gssClient = requireTool('gss-client', 'krb5-gss-samples');
  const r = await runClient(
    gssClient,
    ['-port', String(refusing.gssSamplePort), '-na', 'localhost', 'host@localhost', 'anonymous hello'],
    realm,
    20_000,
    { LC_ALL: 'C' },
  );
  assert.notEqual(r.code, 0, `gss-client -na must fail: ${r.stdout} ${r.stderr}`);
  const f = await w.failureSince(m);
  assert.equal(f.code, 'ERR_UNAUTHENTICATED_REFUSED', f.message);
  assert.equal(w.sessions.length, m.sessions);
  await w.drained();
});

test(
  'gssSampleAllowUnauthenticated: the real gss-client -na is served (plain DATA, a NOOP reply, no context)',
  T,
  async () => {
    const w = allowingWatch;
    const m = w.mark();
    const before = w.stats();
    const gssClient = requireTool('gss-client', 'krb5-gss-samples');
    const r = await runClient(
      gssClient,
      ['-port', String(allowing.gssSamplePort), '-na', 'localhost', 'host@localhost', 'anonymous hello'],
      realm,
      20_000,
      { LC_ALL: 'C' },
    );
    assert.equal(r.code, 0, `gss-client -na: ${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /Response received\./);
    assert.deepEqual(w.failures.slice(m.failures), []);
    assert.equal((await w.drained()).created, before.created, 'no security context');
  },
);

test(
  'allowUnauthenticated: chatty sockets close at the handshake deadline (ERR_HANDSHAKE_TIMEOUT); gss-client gets in',
  T,
  async () => {
    const w = allowingWatch;
    const m = w.mark();
    const started = Date.now();
    const attack = await chattyAnonymous(allowing.gssSamplePort, MAX_CONNECTIONS);
    try {
      for (const c of attack.conns) {
        const closedAt = await c.waitClosed(HANDSHAKE_TIMEOUT_MS + 5000);
        const held = closedAt - started;
        assert.ok(
          held >= HANDSHAKE_TIMEOUT_MS - 100 && held < HANDSHAKE_TIMEOUT_MS + 1500,
          `held ${held} ms, the deadline is ${HANDSHAKE_TIMEOUT_MS} ms`,
        );
        assert.ok(c.buffered.length >= 5, 'its DATA frames were answered (NOOPs) while it was allowed');
      }
      await waitUntil(() => w.failures.length - m.failures >= MAX_CONNECTIONS, 'a failure per socket');
      for (const f of w.failures.slice(m.failures)) assert.equal(f.code, 'ERR_HANDSHAKE_TIMEOUT', f.message);
      await legitHandshake(w, realm, allowing, 'gss-sample');
    } finally {
      attack.stop();
    }
  },
);
