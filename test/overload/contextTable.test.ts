/**
 * The context table at its maximum (maxContexts 3). Established sessions hold their contexts,
 * and so do NTLM handshakes between legs. Proves: while the table is full, a new handshake is
 * refused with ERR_CONTEXT_TABLE_FULL on every front end (TCP: closed with no reply bytes;
 * HTTP: 503 + Retry-After), the holders are unaffected (sessions still wrap and MIC, half-done
 * NTLM handshakes still complete and decrypt their greeting), and capacity comes back as soon as
 * one holder leaves.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import type { HandshakeFailure } from '../../src/handshake/index.js';
import type { HttpHandshakeFailure } from '../../src/acceptors/HttpAcceptor.js';
import { decodeSspiGreeting, encodeGssSampleFrame, encodeSspiFrame, TokenFlag } from '../../src/framing/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { Initiator, firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { RawConn } from '../support/rawConn.js';
import { waitUntil } from '../support/waitUntil.js';
import { collect } from '../support/events.js';
import { httpGet, negotiateHeader, rawKrb5Sspi } from './conn.js';
import { GssSampleSession } from './gssSampleSession.js';

const MAX_CONTEXTS = 3;

let realm: ThrowawayRealm;
let ts: TestServer;
const initiators: Initiator[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  // Every client here is 127.0.0.1: the per-address bound (test/overload/handshakesPerAddress)
  // is lifted to the table's size so that the global bound is what these cases reach.
  ts = await startTestServer(realm, { maxContexts: MAX_CONTEXTS, maxHandshakesPerAddress: MAX_CONTEXTS, ntlm: true, workers: 2, http: { host: '127.0.0.1', port: 0 } });
});

after(async () => {
  for (const i of initiators) i.close();
  await ts?.server.close(0);
  await realm?.destroy();
});

function initiator(mech: 'krb5' | 'ntlm'): Initiator {
  const i = Initiator.start(realm, { mech });
  initiators.push(i);
  return i;
}

function stats(): ReturnType<TestServer['server']['pool']['stats']> {
  return ts.server.pool.stats();
}

async function drained(): Promise<void> {
  await waitUntil(() => stats().live === 0 && stats().inUse === 0, () => `an empty context table: ${JSON.stringify(stats())}`);
}

/**
 * A new handshake while the table is full, on sspi, gss-sample and HTTP: each refused with
 * ERR_CONTEXT_TABLE_FULL; TCP clients see the connection close with nothing sent.
 */
async function assertNewHandshakesRefused(tokens: Buffer[], httpToken: Buffer): Promise<void> {
  const before = stats();
  const failures = collect<HandshakeFailure | HttpHandshakeFailure>(ts.server, 'handshakeFailed');
  try {
    const sspi = await RawConn.connect(ts.sspiPort);
    await sspi.write(encodeSspiFrame(tokens[0] as Buffer));
    const gss = await RawConn.connect(ts.gssSamplePort);
    await gss.write(Buffer.concat([encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT), encodeGssSampleFrame(TokenFlag.CONTEXT, tokens[1] as Buffer)]));
    for (const c of [sspi, gss]) {
      const rest = await c.readToEnd(5000);
      assert.equal(rest.bytes.length, 0, 'a refused client receives no bytes');
      c.destroy();
    }
    const http = await httpGet(ts.httpPort, '/whoami', negotiateHeader(httpToken));
    assert.equal(http.status, 503, http.body);
    assert.equal(http.headers['retry-after'], '1');
    await waitUntil(() => failures.items.length >= 3, () => `3 handshakeFailed events, have ${failures.items.length}`, 3000);
    assert.deepEqual(
      failures.items.map((f) => `${f.frontend}:${f.code}`).sort(),
      ['gss-sample:ERR_CONTEXT_TABLE_FULL', 'http:ERR_CONTEXT_TABLE_FULL', 'sspi:ERR_CONTEXT_TABLE_FULL'],
    );
  } finally {
    failures.stop();
  }
  const after = stats();
  assert.equal(after.refusedFull - before.refusedFull, 3, 'each refusal is counted');
  assert.equal(after.created - before.created, 0, 'a refused handshake creates nothing');
  assert.equal(after.live, MAX_CONTEXTS, 'the holders keep their contexts');
}

test('established sessions fill the table: new handshakes are refused, the sessions go on, a freed slot is reused', { timeout: 60_000 }, async () => {
  const tokens = await firstTokens(realm, { mech: 'krb5' }, 3);
  const [httpToken] = await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 1);
  await drained();
  const sessions: GssSampleSession[] = [];
  try {
    for (let i = 0; i < MAX_CONTEXTS; i++) sessions.push(await GssSampleSession.open(ts.gssSamplePort, initiator('krb5')));
    await waitUntil(() => stats().established === MAX_CONTEXTS, () => `${MAX_CONTEXTS} established contexts: ${JSON.stringify(stats())}`);

    await assertNewHandshakesRefused(tokens, httpToken as Buffer);

    // The holders are unaffected: each session still unwraps and signs.
    for (const s of sessions) await s.roundTrip();

    // One leaves: its slot serves the next handshake at once.
    await (sessions.shift() as GssSampleSession).end();
    await waitUntil(() => stats().live === MAX_CONTEXTS - 1, () => `a freed slot: ${JSON.stringify(stats())}`);
    await rawKrb5Sspi(ts.sspiPort, tokens[2] as Buffer);
    for (const s of sessions) await s.roundTrip();
    for (const s of sessions.splice(0)) await s.end();
  } finally {
    for (const s of sessions) s.conn.destroy();
  }
  await drained();
});

test('NTLM handshakes half-way fill the table: new handshakes are refused, the half-done ones complete', { timeout: 60_000 }, async () => {
  const tokens = await firstTokens(realm, { mech: 'krb5' }, 2);
  const [httpToken] = await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 1);
  await drained();
  const pending: Array<{ ini: Initiator; conn: RawConn; challenge: Buffer }> = [];
  try {
    for (let i = 0; i < MAX_CONTEXTS; i++) {
      const ini = initiator('ntlm');
      const negotiate = await ini.step();
      const conn = await RawConn.connect(ts.sspiPort);
      await conn.write(encodeSspiFrame(negotiate.token));
      const challenge = await conn.readSspiFrame();
      assert.equal(challenge.readUInt32LE(8), 2, 'an NTLM CHALLENGE_MESSAGE');
      pending.push({ ini, conn, challenge });
    }
    assert.equal(stats().handshaking, MAX_CONTEXTS, 'each half-done handshake holds a context');

    await assertNewHandshakesRefused(tokens, httpToken as Buffer);

    // The half-done handshakes finish: AUTHENTICATE, then the greeting sealed for each.
    for (const p of pending) {
      const auth = await p.ini.step(p.challenge);
      await p.conn.write(encodeSspiFrame(auth.token));
      const rest = await p.conn.readToEnd(10_000);
      assert.equal(rest.how, 'eof');
      const { trailer, ciphertext } = decodeSspiGreeting(rest.bytes);
      const plain = await p.ini.unwrap(Buffer.concat([trailer, ciphertext]));
      assert.equal(plain.message.toString('utf8'), 'This is your server speaking');
    }
  } finally {
    for (const p of pending) p.conn.destroy();
  }
  await drained();
  assert.equal(stats().refusedFull, 6, 'three refusals in each test');
});
