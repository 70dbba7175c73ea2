/**
 * A burst larger than the worker pool's queue (1 worker, held busy; queue of 4). Proves the
 * extras fail fast with ERR_POOL_QUEUE_FULL while the worker is still held (TCP: the connection
 * is closed with no reply bytes; HTTP: 503 with Retry-After: 1), the admitted ones complete once
 * the worker is free, the very next handshake succeeds at once, and no refused request ever
 * created a security context.
 *
 * Admission: the pool holds at most maxQueue + workers calls (the native hand-off's bound, the
 * default). The worker here is held by a stall, itself a call on that queue, so QUEUE + WORKERS
 * - 1 calls wait and the rest of the burst is refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import type { HandshakeFailure } from '../../src/handshake/index.js';
import type { HttpHandshakeFailure } from '../../src/acceptors/HttpAcceptor.js';
import { decodeSspiGreeting, encodeSspiFrame } from '../../src/framing/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { FAULT_WORKER, holdEveryWorker } from '../support/faultWorker.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { RawConn } from '../support/rawConn.js';
import { waitUntil } from '../support/waitUntil.js';
import { collect } from '../support/events.js';
import { assertApRep } from '../support/apRep.js';
import { httpGet, negotiateHeader, rawKrb5Sspi, type HttpReply } from './conn.js';

const QUEUE = 4;
const WORKERS = 1;
const ADMITTED = QUEUE + WORKERS - 1;
const BURST = 12;
/** "Fail fast": a refusal arrives well within this while the worker is still held. */
const FAST_MS = 1000;

let realm: ThrowawayRealm;
let ts: TestServer;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  // A task timeout far above the hold, so holding the worker is never mistaken for a hung call.
  ts = await startTestServer(realm, {
    workers: WORKERS,
    maxQueue: QUEUE,
    taskTimeoutMs: 30_000,
    http: { host: '127.0.0.1', port: 0 },
    gssSample: undefined,
    workerFile: FAULT_WORKER,
  });
  assert.ok(ts.httpPort > 0 && ts.sspiPort > 0);
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
});

async function drained(): Promise<void> {
  await waitUntil(
    () => {
      const s = ts.server.pool.stats();
      return s.live === 0 && s.queued === 0 && s.inUse === 0;
    },
    () => `an empty table and queue: ${JSON.stringify(ts.server.pool.stats())}`,
  );
}

test(
  `TCP (sspi): burst of ${BURST}, queue of ${QUEUE}: extras closed at once, admitted complete, next succeeds at once`,
  { timeout: 40_000 },
  async () => {
    const tokens = await firstTokens(realm, { mech: 'krb5' }, BURST + 1);
    await drained();
    const before = ts.server.pool.stats();
    const failures = collect<HandshakeFailure>(ts.server, 'handshakeFailed');
    const conns = await Promise.all(Array.from({ length: BURST }, () => RawConn.connect(ts.sspiPort)));
    const held = await holdEveryWorker(ts.server.pool, WORKERS);
    try {
      const sentAt = Date.now();
      conns.forEach((c, i) => void c.write(encodeSspiFrame(tokens[i] as Buffer)));
      const refused = BURST - ADMITTED;
      await waitUntil(
        () => conns.filter((c) => c.closed).length >= refused,
        () => `${refused} refused connections closed, have ${conns.filter((c) => c.closed).length}`,
        5000,
      );
      const slowest = Math.max(...conns.filter((c) => c.closed).map((c) => (c.closedAt as number) - sentAt));
      assert.ok(slowest < FAST_MS, `refusals took up to ${slowest} ms`);
      assert.equal(ts.server.pool.stats().queued, ADMITTED, 'exactly the admitted calls wait for the held worker');
      for (const c of conns.filter((x) => x.closed)) {
        assert.equal(c.buffered.length, 0, 'a refused client receives no bytes: the connection just closes');
        assert.equal(c.ended, 'eof', 'closed cleanly (FIN), not reset');
      }
      console.log(
        `queue burst (TCP): ${refused} refused in at most ${slowest} ms, seen by the client as EOF with no bytes`,
      );
      await waitUntil(
        () => failures.items.length >= refused,
        () => `${refused} handshakeFailed events`,
        2000,
      );
      assert.deepEqual(new Set(failures.items.map((f) => f.code)), new Set(['ERR_POOL_QUEUE_FULL']));
      assert.equal(failures.items.length, refused);

      await held.release();
      const queued = conns.filter((c) => !c.closed);
      assert.equal(queued.length, ADMITTED);
      for (const c of queued) {
        assertApRep(await c.readSspiFrame(10_000));
        const rest = await c.readToEnd(10_000);
        assert.equal(rest.how, 'eof');
        assert.ok(decodeSspiGreeting(rest.bytes).ciphertext.length > 0, 'the sealed greeting');
      }

      const t0 = Date.now();
      await rawKrb5Sspi(ts.sspiPort, tokens[BURST] as Buffer);
      const nextMs = Date.now() - t0;
      assert.ok(nextMs < FAST_MS, `the next handshake took ${nextMs} ms`);
      console.log(`queue burst (TCP): the next handshake after the burst took ${nextMs} ms`);
    } finally {
      await held.release();
      for (const c of conns) c.destroy();
      failures.stop();
    }
    await drained();
    const after = ts.server.pool.stats();
    assert.equal(after.created - before.created, ADMITTED + 1, 'refused handshakes never created a context');
    assert.equal(after.completed - before.completed, ADMITTED + 1);
  },
);

test(
  `HTTP: burst of ${BURST}, queue of ${QUEUE}: extras get 503 + Retry-After at once, admitted 200, next 200 at once`,
  { timeout: 40_000 },
  async () => {
    const tokens = await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, BURST + 1);
    await drained();
    const before = ts.server.pool.stats();
    const failures = collect<HttpHandshakeFailure>(ts.server, 'handshakeFailed');
    const held = await holdEveryWorker(ts.server.pool, WORKERS);
    try {
      const sentAt = Date.now();
      const replies: Array<{ reply: HttpReply; at: number } | undefined> = new Array<undefined>(BURST).fill(undefined);
      const all = tokens.slice(0, BURST).map((t, i) =>
        httpGet(ts.httpPort, '/whoami', negotiateHeader(t)).then((reply) => {
          replies[i] = { reply, at: Date.now() };
        }),
      );
      const refused = BURST - ADMITTED;
      await waitUntil(
        () => replies.filter((r) => r?.reply.status === 503).length >= refused,
        () => `${refused} 503s, have ${JSON.stringify(replies.map((r) => r?.reply.status))}`,
        5000,
      );
      const busy = replies.filter((r) => r !== undefined);
      assert.equal(busy.length, refused, 'only the extras are answered while the worker is held');
      for (const r of busy) {
        assert.equal(r?.reply.status, 503);
        assert.equal(r?.reply.headers['retry-after'], '1');
        assert.ok((r?.at ?? Infinity) - sentAt < FAST_MS, `a 503 took ${(r?.at ?? 0) - sentAt} ms`);
      }
      assert.deepEqual(new Set(failures.items.map((f) => f.code)), new Set(['ERR_POOL_QUEUE_FULL']));

      await held.release();
      await Promise.all(all);
      const ok = replies.filter((r) => r?.reply.status === 200);
      assert.equal(ok.length, ADMITTED, `statuses: ${JSON.stringify(replies.map((r) => r?.reply.status))}`);
      for (const r of ok)
        assert.match(
          r?.reply.headers['www-authenticate'] ?? '',
          /^Negotiate [A-Za-z0-9+/=]+$/,
          'the mutual-authentication token',
        );

      const t0 = Date.now();
      const next = await httpGet(ts.httpPort, '/whoami', negotiateHeader(tokens[BURST] as Buffer));
      const nextMs = Date.now() - t0;
      assert.equal(next.status, 200, next.body);
      assert.ok(nextMs < FAST_MS, `the next request took ${nextMs} ms`);
      console.log(
        `queue burst (HTTP): ${refused} × 503 Retry-After: 1; the next request after the burst took ${nextMs} ms`,
      );
    } finally {
      await held.release();
      failures.stop();
    }
    await drained();
    const after = ts.server.pool.stats();
    assert.equal(after.created - before.created, ADMITTED + 1, 'refused requests never created a context');
  },
);
