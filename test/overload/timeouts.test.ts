/**
 * The two connection timers of the TCP front ends, firing for real: the handshake deadline
 * (a connection that never completes its handshake) and the idle timeout (silence, before a
 * handshake and on an established session). Each closes the connection at its time, reports its
 * own code, frees the context, and neither fires early: an established session outlives the
 * handshake deadline while it talks.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import type { HandshakeFailure } from '../../src/handshake/index.js';
import type { Logger } from '../../src/logger.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { Initiator } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { nextEvent } from '../support/events.js';
import { RawConn } from '../support/rawConn.js';
import { waitUntil } from '../support/waitUntil.js';
import { GssSampleSession } from './gssSampleSession.js';

let realm: ThrowawayRealm;
const servers: TestServer[] = [];

interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

/** A Logger that keeps every entry: an established session's end is only logged, not emitted. */
function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      entries.push({ level, msg, fields });
    };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, entries };
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
});

after(async () => {
  await Promise.allSettled(servers.map((s) => s.server.close(0)));
  await realm?.destroy();
});

async function server(overrides: Parameters<typeof startTestServer>[1]): Promise<TestServer> {
  const s = await startTestServer(realm, { workers: 1, ...overrides });
  servers.push(s);
  return s;
}

async function drained(s: TestServer): Promise<void> {
  await waitUntil(
    () => s.server.pool.stats().live === 0,
    () => `no context left: ${JSON.stringify(s.server.pool.stats())}`,
  );
  for (const a of s.server.acceptors)
    await waitUntil(
      () => a.connections === 0,
      () => `${a.framing}: ${a.connections} connections open`,
    );
}

test(
  'the handshake deadline closes a connection that never sends, on both framings, with ERR_HANDSHAKE_TIMEOUT',
  { timeout: 30_000 },
  async () => {
    const DEADLINE = 800;
    const s = await server({ handshakeTimeoutMs: DEADLINE, idleTimeoutMs: 60_000 });
    const before = s.server.pool.stats();
    for (const port of [s.sspiPort, s.gssSamplePort]) {
      const failed = nextEvent<HandshakeFailure>(s.server, 'handshakeFailed', 5000);
      const c = await RawConn.connect(port);
      try {
        const closedAt = await c.waitClosed(DEADLINE + 3000);
        const lived = closedAt - c.connectedAt;
        assert.ok(lived >= DEADLINE - 50 && lived < DEADLINE + 700, `closed after ${lived} ms, deadline ${DEADLINE}`);
        assert.equal(c.buffered.length, 0);
      } finally {
        c.destroy();
      }
      const f = await failed;
      assert.equal(f.code, 'ERR_HANDSHAKE_TIMEOUT', f.message);
    }
    await drained(s);
    assert.equal(s.server.pool.stats().created, before.created, 'no context for a silent connection');
  },
);

test(
  'the idle timeout closes a silent connection before its handshake, with ERR_IDLE_TIMEOUT',
  { timeout: 30_000 },
  async () => {
    const IDLE = 500;
    const s = await server({ handshakeTimeoutMs: 10_000, idleTimeoutMs: IDLE });
    const failed = nextEvent<HandshakeFailure>(s.server, 'handshakeFailed', 5000);
    const c = await RawConn.connect(s.sspiPort);
    try {
      const lived = (await c.waitClosed(IDLE + 3000)) - c.connectedAt;
      assert.ok(lived >= IDLE - 50 && lived < IDLE + 700, `closed after ${lived} ms, idle timeout ${IDLE}`);
    } finally {
      c.destroy();
    }
    const f = await failed;
    assert.equal(f.code, 'ERR_IDLE_TIMEOUT', f.message);
    await drained(s);
  },
);

test(
  'a talking gss-sample session outlives the handshake deadline; then the idle timeout closes it, freeing its context',
  { timeout: 40_000 },
  async () => {
    const DEADLINE = 1000;
    const IDLE = 800;
    const TALK_EVERY = 250;
    const ROUNDS = 8; // 2 s of conversation: twice the handshake deadline, over twice the idle timeout
    const rec = recordingLogger();
    const s = await server({ handshakeTimeoutMs: DEADLINE, idleTimeoutMs: IDLE, logger: rec.logger });
    const failures: HandshakeFailure[] = [];
    s.server.on('handshakeFailed', (f: HandshakeFailure) => failures.push(f));
    const before = s.server.pool.stats();
    const ini = Initiator.start(realm, { mech: 'krb5' });
    try {
      const established = nextEvent<Session>(s.server, 'session', 15_000);
      const session = await GssSampleSession.open(s.gssSamplePort, ini);
      const serverSession = await established;
      assert.equal(serverSession.principal, realm.userPrincipal);
      assert.equal(s.server.pool.stats().established, 1);

      for (let i = 0; i < ROUNDS; i++) {
        await new Promise((r) => setTimeout(r, TALK_EVERY));
        await session.roundTrip();
      }
      assert.ok(Date.now() - session.conn.connectedAt > 2 * DEADLINE, 'the session outlived the handshake deadline');
      assert.equal(session.conn.closed, false, 'a talking session is never closed');

      const lastTalk = Date.now();
      const closedAt = await session.conn.waitClosed(IDLE + 3000);
      const silence = closedAt - lastTalk;
      assert.ok(
        silence >= IDLE - 50 && silence < IDLE + 700,
        `closed after ${silence} ms of silence, idle timeout ${IDLE}`,
      );

      await drained(s);
      const after = s.server.pool.stats();
      assert.equal(after.completed - before.completed, 1);
      assert.equal(after.released - before.released, 1, 'the idle session’s context was released');
      assert.equal(failures.length, 0, 'an established session is not a failed handshake');
      const ended = rec.entries.find(
        (e) => e.msg === 'connection ended with an error' && e.fields['connectionId'] === serverSession.connectionId,
      );
      assert.ok(ended, `the end is logged; log: ${JSON.stringify(rec.entries.map((e) => e.msg))}`);
      assert.equal(ended.fields['code'], 'ERR_IDLE_TIMEOUT');
    } finally {
      ini.close();
    }
  },
);
