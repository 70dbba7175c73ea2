/**
 * Multi-leg handshakes per remote address ("Hostile clients II", item 5, second half). With NTLM
 * on, a NEGOTIATE message costs nothing to send and makes the server keep a context until the
 * client's next leg or the handshake deadline: one address opening leg 1 after leg 1 could take
 * the whole context table (`--max-contexts`) and shut every other client out. Handshakes holding
 * a context between legs are now bounded per address (`--max-handshakes-per-address`, by default
 * a tenth of --max-contexts) across the sspi, gss-sample and WebSocket front ends; beyond it a
 * leg 1 is refused (ERR_HANDSHAKES_PER_ADDRESS, logged at warn, counted) and its context freed,
 * while single-leg Kerberos from the same address and NTLM from other addresses go on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

import { encodeGssSampleFrame, encodeSspiFrame, TokenFlag } from '../../src/framing/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { firstTokens, Initiator } from '../support/initiator.js';
import { RawConn } from '../support/rawConn.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';
import { ServerWatch } from '../hostile/harness.js';
import { rawKrb5Sspi } from './conn.js';

const T = { timeout: 90_000 };
const MAX_CONTEXTS = 50;
/** The default: a tenth of --max-contexts. */
const PER_ADDRESS = 5;
const ATTACKERS = 12;

let realm: ThrowawayRealm;
let ts: TestServer;
let watch: ServerWatch;
/** A raw NTLM NEGOTIATE_MESSAGE (leg 1): it carries no credential and no freshness. */
let negotiate: Buffer;
const opened: Array<{ destroy(): void }> = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, {
    ntlm: true,
    maxContexts: MAX_CONTEXTS,
    http: { host: '127.0.0.1', port: 0 },
    wsPath: '/ws',
  });
  watch = new ServerWatch(ts.server);
  [negotiate] = (await firstTokens(realm, { mech: 'ntlm' }, 1)) as [Buffer];
  assert.equal(negotiate.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
});
after(async () => {
  for (const o of opened) o.destroy();
  await ts?.server.close();
  await realm?.destroy();
});

/** Waits until `conn` got `bytes` or closed; true if it is still open with a reply. */
async function heldOrClosed(conn: RawConn, replyBytes: number): Promise<boolean> {
  await waitUntil(() => conn.closed || conn.buffered.length >= replyBytes, 'a reply or a close', 10_000);
  return !conn.closed;
}

/** A raw-NTLM WebSocket handshake by a real initiator from `localAddress`. */
async function ntlmOverWs(localAddress: string): Promise<{ principal: string; mech: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${ts.httpPort}/ws`, { localAddress });
  opened.push({ destroy: () => ws.terminate() });
  ws.on('error', () => {});
  const init = Initiator.start(realm, { mech: 'ntlm' });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
    });
    const authenticated = new Promise<{ principal: string; mech: string }>((resolve, reject) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return resolve(JSON.parse(data.toString()) as { principal: string; mech: string });
        init.step(data).then((out) => {
          if (out.token.length > 0) ws.send(out.token);
        }, reject);
      });
      ws.once('close', (code: number, reason: Buffer) => reject(new Error(`closed ${code} ${reason.toString()}`)));
    });
    ws.send((await init.step()).token);
    return await authenticated;
  } finally {
    init.close();
    ws.close();
  }
}

test(
  "sspi: NTLM leg 1s from one address stop at the per-address bound; its Kerberos and others' NTLM still authenticate",
  T,
  async () => {
    await watch.drained();
    const m = watch.mark();
    const conns: RawConn[] = [];
    try {
      await sspiAttack(m, conns);
    } finally {
      for (const c of conns) c.destroy();
    }
    await watch.drained();
  },
);

async function sspiAttack(m: ReturnType<ServerWatch['mark']>, conns: RawConn[]): Promise<void> {
  for (let i = 0; i < ATTACKERS; i++) {
    const c = await RawConn.connect(ts.sspiPort);
    opened.push(c);
    conns.push(c);
    await c.write(encodeSspiFrame(negotiate));
  }
  // A CHALLENGE frame is longer than 4 + 32 bytes.
  const held = await Promise.all(conns.map((c) => heldOrClosed(c, 36)));
  assert.equal(held.filter(Boolean).length, PER_ADDRESS, 'leg 1s answered with a challenge and holding a context');
  await waitUntil(() => watch.failures.length - m.failures >= ATTACKERS - PER_ADDRESS, 'a failure per refused leg 1');
  const codes = watch.failures.slice(m.failures).map((f) => f.code);
  assert.deepEqual(new Set(codes), new Set(['ERR_HANDSHAKES_PER_ADDRESS']), codes.join());
  for (const c of conns.filter((_, i) => !held[i]))
    assert.equal(c.buffered.length, 0, 'a refused leg 1 gets no challenge');
  assert.equal(ts.server.pool.stats().handshaking, PER_ADDRESS, 'only the held handshakes keep a context');

  // Single-leg Kerberos from the same address is not a handshake in progress between legs.
  const s = watch.mark();
  const [apReq] = (await firstTokens(realm, { mech: 'krb5' }, 1)) as [Buffer];
  await rawKrb5Sspi(ts.sspiPort, apReq);
  await waitUntil(() => watch.sessions.length > s.sessions, 'the Kerberos session');
  assert.equal(watch.sessions[s.sessions]?.principal, realm.userPrincipal);
  // NTLM from another address is bounded separately.
  const other = await ntlmOverWs('127.0.0.2');
  assert.equal(other.principal, realm.ntlmUser);
  assert.equal(other.mech, 'ntlmssp');

  const metrics = await ts.server.metrics.render();
  assert.match(
    metrics,
    /negotiate_handshake_failures_total\{frontend="sspi",code="ERR_HANDSHAKES_PER_ADDRESS"\} 7\b/,
    'twelve leg 1s, five held',
  );
  assert.match(metrics, new RegExp(`negotiate_handshakes_per_address_refused_total ${ATTACKERS - PER_ADDRESS}\\b`));
  assert.match(metrics, new RegExp(`negotiate_handshakes_per_address_in_progress ${PER_ADDRESS}\\b`));
}

test(
  'the bound is per address across front ends: WebSocket and gss-sample leg 1s beyond it are refused (1013, close)',
  T,
  async () => {
    await watch.drained();
    const m = watch.mark();
    const sockets: WebSocket[] = [];
    const outcomes: Array<Promise<string>> = [];
    for (let i = 0; i < PER_ADDRESS + 3; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${ts.httpPort}/ws`);
      opened.push({ destroy: () => ws.terminate() });
      ws.on('error', () => {});
      sockets.push(ws);
      outcomes.push(
        new Promise<string>((resolve) => {
          ws.once('message', () => resolve('challenge'));
          ws.once('close', (code: number, reason: Buffer) => resolve(`${code} ${reason.toString()}`));
        }),
      );
      await new Promise<void>((resolve) => ws.once('open', () => resolve()));
      ws.send(negotiate);
      // One at a time, so the first PER_ADDRESS are the ones that hold.
      await Promise.race([outcomes[i], new Promise((r) => setTimeout(r, 2000))]);
    }
    try {
      await crossFrontEnd(m, outcomes);
    } finally {
      for (const ws of sockets) ws.terminate();
    }
    await watch.drained();
    // Once the held handshakes ended, the address may start new ones.
    const again = await ntlmOverWs('127.0.0.1');
    assert.equal(again.principal, realm.ntlmUser);
    await watch.drained();
  },
);

async function crossFrontEnd(m: ReturnType<ServerWatch['mark']>, outcomes: Array<Promise<string>>): Promise<void> {
  const results = await Promise.all(outcomes);
  assert.deepEqual(results.slice(0, PER_ADDRESS), Array(PER_ADDRESS).fill('challenge'));
  assert.deepEqual(results.slice(PER_ADDRESS), Array(3).fill('1013 server busy'));

  // The same address on gss-sample: refused at once too, its context freed.
  const g = await RawConn.connect(ts.gssSamplePort);
  opened.push(g);
  await g.write(
    Buffer.concat([
      encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT),
      encodeGssSampleFrame(TokenFlag.CONTEXT, negotiate),
    ]),
  );
  await g.waitClosed(5000);
  assert.equal(g.buffered.length, 0);

  await waitUntil(() => watch.failures.length - m.failures >= 4, 'four refusals');
  const refused = watch.failures.slice(m.failures);
  assert.deepEqual(refused.map((f) => `${f.frontend} ${f.code}`).sort(), [
    'gss-sample ERR_HANDSHAKES_PER_ADDRESS',
    'ws ERR_HANDSHAKES_PER_ADDRESS',
    'ws ERR_HANDSHAKES_PER_ADDRESS',
    'ws ERR_HANDSHAKES_PER_ADDRESS',
  ]);
  assert.equal(ts.server.pool.stats().handshaking, PER_ADDRESS);
}
