/**
 * Slowloris: clients that trickle a frame one byte at a time, fast enough that the idle timeout
 * never fires but far slower than the handshake deadline. Proves the deadline, not the idle
 * timer, cuts them (ERR_HANDSHAKE_TIMEOUT, at the deadline, on both TCP framings), that none of
 * them ever reaches GSSAPI (no context), and that legitimate clients authenticate meanwhile.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import type { HandshakeFailure } from '../../src/handshake/index.js';
import { encodeGssSampleFrame, TokenFlag } from '../../src/framing/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { PYTHON, jsonLines, requirePythonGssapi, runClient, startTestServer, type TestServer, SSPI_CLIENT } from '../support/server.js';
import { RawConn } from '../support/rawConn.js';
import { waitUntil } from '../support/waitUntil.js';
import { collect } from '../support/events.js';
import { rawKrb5GssSample } from './conn.js';

const DEADLINE_MS = 1500;
/** Longer than the trickle's interval: only the deadline may cut a slow client. */
const IDLE_MS = 1000;
const TRICKLE_EVERY_MS = 200;
const SLOW_PER_FRAMING = 20;
/** Upper bound of a trickle, whatever happens (the test must end). */
const TRICKLE_LIMIT_MS = 10_000;

let realm: ThrowawayRealm;
let ts: TestServer;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, { handshakeTimeoutMs: DEADLINE_MS, idleTimeoutMs: IDLE_MS, workers: 2 });
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
});

/**
 * What a slow client sends: a plausible frame announcing 1000 bytes (sspi), or gss-sample's
 * opening NOOP|CONTEXT_NEXT followed by the same (a complete first frame, then a slow second).
 */
function slowBytes(framing: 'sspi' | 'gss-sample'): Buffer {
  const body = Buffer.alloc(1000, 0x41);
  if (framing === 'gss-sample') {
    return Buffer.concat([encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT), encodeGssSampleFrame(TokenFlag.CONTEXT, body)]);
  }
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

/** Sends `bytes` one byte per TRICKLE_EVERY_MS until the server closes (or the limit). */
function trickle(c: RawConn, bytes: Buffer): { sent: () => number; stopped: Promise<void> } {
  let i = 0;
  const stopped = new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (c.closed || i >= bytes.length || Date.now() - c.connectedAt > TRICKLE_LIMIT_MS) {
        clearInterval(timer);
        resolve();
        return;
      }
      void c.write(bytes.subarray(i, i + 1));
      i += 1;
    }, TRICKLE_EVERY_MS);
  });
  return { sent: () => i, stopped };
}

test(`${2 * SLOW_PER_FRAMING} slowloris clients are cut at the ${DEADLINE_MS} ms deadline while real clients authenticate`, { timeout: 60_000 }, async () => {
  const tokens = await firstTokens(realm, { mech: 'krb5' }, 1);
  const before = ts.server.pool.stats();
  const failures = collect<HandshakeFailure>(ts.server, 'handshakeFailed');
  const sessions = collect<Session>(ts.server, 'session');
  try {
    const slow: Array<{ framing: 'sspi' | 'gss-sample'; conn: RawConn; t: ReturnType<typeof trickle> }> = [];
    for (const framing of ['sspi', 'gss-sample'] as const) {
      const port = framing === 'sspi' ? ts.sspiPort : ts.gssSamplePort;
      const bytes = slowBytes(framing);
      const conns = await Promise.all(Array.from({ length: SLOW_PER_FRAMING }, () => RawConn.connect(port)));
      for (const conn of conns) slow.push({ framing, conn, t: trickle(conn, bytes) });
    }

    // Meanwhile, real clients: MIT-style gss-sample with a pre-made AP-REQ, and the SPNEGO
    // python client over sspi (its start-up takes a while: it connects when it is ready).
    await new Promise((r) => setTimeout(r, 300));
    await rawKrb5GssSample(ts.gssSamplePort, tokens[0] as Buffer);
    assert.equal(slow.filter((s) => s.conn.closed).length, 0, 'a real client was served while every slow client was connected');
    const run = await runClient(PYTHON, [SSPI_CLIENT, '--port', String(ts.sspiPort), '--timeout', '10', '--mech', 'spnego'], realm, 20_000);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(jsonLines(run.stdout)[0]?.['ok'], true, run.stdout);

    await Promise.all(slow.map((s) => s.conn.waitClosed(DEADLINE_MS + 5000)));
    await Promise.all(slow.map((s) => s.t.stopped));
    for (const s of slow) {
      const lived = (s.conn.closedAt as number) - s.conn.connectedAt;
      assert.ok(lived >= DEADLINE_MS - 100, `${s.framing}: closed after ${lived} ms, before the ${DEADLINE_MS} ms deadline`);
      assert.ok(lived < DEADLINE_MS + 1000, `${s.framing}: closed after ${lived} ms, long after the ${DEADLINE_MS} ms deadline`);
      assert.ok(s.t.sent() >= Math.floor((DEADLINE_MS - 300) / TRICKLE_EVERY_MS), `${s.framing}: kept sending until cut (${s.t.sent()} bytes)`);
      assert.equal(s.conn.buffered.length, 0, 'nothing is sent to a slow client');
    }

    await waitUntil(() => failures.items.length >= 2 * SLOW_PER_FRAMING, () => `${2 * SLOW_PER_FRAMING} failures, have ${failures.items.length}`, 5000);
    assert.equal(failures.items.length, 2 * SLOW_PER_FRAMING, `failures: ${JSON.stringify(failures.items.slice(0, 3))}`);
    for (const f of failures.items) {
      assert.equal(f.code, 'ERR_HANDSHAKE_TIMEOUT', `${f.frontend}: ${f.code} ${f.message}`);
      assert.ok(f.latencyMs >= DEADLINE_MS - 100 && f.latencyMs < DEADLINE_MS + 1000, `failure reported after ${f.latencyMs} ms`);
    }
    assert.equal(failures.items.filter((f) => f.frontend === 'sspi').length, SLOW_PER_FRAMING);
    assert.equal(sessions.items.length, 2, 'both real clients authenticated');
    for (const s of sessions.items) assert.equal(s.principal, realm.userPrincipal);
  } finally {
    failures.stop();
    sessions.stop();
  }
  await waitUntil(() => ts.server.pool.stats().live === 0, () => `no context left: ${JSON.stringify(ts.server.pool.stats())}`);
  const after = ts.server.pool.stats();
  assert.equal(after.created - before.created, 2, 'slow clients never reach GSSAPI: only the two real clients created contexts');
  assert.equal(after.completed - before.completed, 2);
  for (const a of ts.server.acceptors) assert.equal(a.connections, 0, `${a.framing}: every connection closed`);
});
