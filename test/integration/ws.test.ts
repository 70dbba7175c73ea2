/**
 * The WebSocket front end (docs/websocket.md) end to end: the `ws` npm client carrying tokens
 * from a real python3-gssapi initiator to a WsAcceptor attached to an in-process uWS app on a
 * throwaway realm. Success paths check both sides (the initiator accepts the server's final
 * token, the 'session' event and the authenticated message agree); failure paths check the
 * close code and reason, the 'handshakeFailed' code, and that the context table drains.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { us_listen_socket } from 'uwebsockets';

import { AuthPool } from '../../src/pool/AuthPool.js';
import { loadUws } from '../../src/acceptors/uws.js';
import {
  attachWebSocket,
  WS_CLOSE,
  type WsAcceptor,
  type WsAuthenticatedMessage,
  type WsHandshakeFailure,
} from '../../src/acceptors/WsAcceptor.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { Initiator, firstTokens, type InitiatorMech } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { FAULT_WORKER } from '../support/faultWorker.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';
import { nextEvent } from '../support/events.js';
import { waitUntil } from '../support/waitUntil.js';

const SERVICE = 'HTTP@localhost';
const MAX_TOKEN = 65536;

let realm: ThrowawayRealm;
let pool: AuthPool;
let port: number;
let listenSocket: us_listen_socket | undefined;
let baseline: ReturnType<AuthPool['stats']>;
/** Echo, no wrapping. */
let main: WsAcceptor;
/** Echo, wrapped messages. */
let wrapped: WsAcceptor;
/** handshakeTimeoutMs: 300. */
let slow: WsAcceptor;
/** Closed by its test. */
let closing: WsAcceptor;
const initiators: Initiator[] = [];
const clients: WsClient[] = [];

const logger = createLogger(process.env['NEGOTIATE_TEST_LOG'] === '1' ? 'debug' : 'silent');

/** Replies "<principal>|<message>"; a message "text" is answered with a string, "boom" throws. */
function echo(session: Session, message: Buffer, reply: (data: Uint8Array | string) => void): Promise<void> {
  if (message.toString() === 'boom') return Promise.reject(new Error('application failure'));
  if (message.toString() === 'text') reply('a string reply é');
  else reply(Buffer.concat([Buffer.from(`${session.principal}|`), message]));
  return Promise.resolve();
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
  pool = await AuthPool.start({
    credentials: { keytab: realm.keytab, ntlm: true },
    workers: 2,
    workerFile: FAULT_WORKER,
  });
  baseline = pool.stats();
  const uws = loadUws();
  const app = uws.App();
  main = attachWebSocket(app, { path: '/ws', pool, logger, onMessage: echo });
  wrapped = attachWebSocket(app, { path: '/wrapped', pool, logger, wrapMessages: true, onMessage: echo });
  slow = attachWebSocket(app, { path: '/slow', pool, logger, handshakeTimeoutMs: 300 });
  closing = attachWebSocket(app, { path: '/closing', pool, logger, idleTimeoutSeconds: 8 });
  port = await new Promise<number>((resolve, reject) => {
    app.listen('127.0.0.1', 0, (ls) => {
      if (ls === false) return reject(new Error('uWS could not listen on 127.0.0.1'));
      listenSocket = ls;
      // A listen socket is a socket as far as us_socket_local_port is concerned.
      resolve(uws.us_socket_local_port(ls));
    });
  });
  assert.ok(port > 0);
});

after(async () => {
  for (const c of clients) c.terminate();
  for (const i of initiators) i.close();
  await Promise.allSettled([main, wrapped, slow, closing].filter(Boolean).map((a) => a.close()));
  if (listenSocket) loadUws().us_listen_socket_close(listenSocket);
  await pool?.close();
  await realm?.destroy();
});

// ------------------------------------------------------------------------------------ helpers

type Incoming =
  { kind: 'binary'; data: Buffer } | { kind: 'text'; text: string } | { kind: 'close'; code: number; reason: string };

/** A `ws` client whose messages and close are read in order with bounded waits. */
class WsClient {
  readonly ws: WebSocket;
  readonly #queue: Incoming[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.#push(isBinary ? { kind: 'binary', data } : { kind: 'text', text: data.toString('utf8') });
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.#closed = true;
      this.#push({ kind: 'close', code, reason: reason.toString('utf8') });
    });
    ws.on('error', () => {});
  }

  static connect(path: string, timeoutMs = 5000): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { handshakeTimeout: timeoutMs });
      ws.once('open', () => {
        const c = new WsClient(ws);
        clients.push(c);
        resolve(c);
      });
      ws.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  #push(m: Incoming): void {
    this.#queue.push(m);
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  send(data: Uint8Array | string, binary = true): void {
    this.ws.send(data, { binary });
  }

  /** The next message or the close. */
  async next(timeoutMs = 10_000): Promise<Incoming> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.#queue.shift();
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no WebSocket message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  async nextBinary(timeoutMs?: number): Promise<Buffer> {
    const m = await this.next(timeoutMs);
    assert.equal(m.kind, 'binary', `expected a binary message, got ${JSON.stringify(m)}`);
    return (m as { data: Buffer }).data;
  }

  /** Skips binary messages (an error token) until the close; returns it and the skipped count. */
  async closeFrame(timeoutMs = 10_000): Promise<{ code: number; reason: string; binaries: number }> {
    let binaries = 0;
    for (;;) {
      const m = await this.next(timeoutMs);
      if (m.kind === 'close') return { code: m.code, reason: m.reason, binaries };
      assert.equal(m.kind, 'binary', `expected only binary messages before the close, got ${JSON.stringify(m)}`);
      binaries += 1;
    }
  }

  terminate(): void {
    this.ws.terminate();
  }
}

function initiator(mech: InitiatorMech): Initiator {
  const i = Initiator.start(realm, { mech, service: SERVICE });
  initiators.push(i);
  return i;
}

/**
 * Runs the lock-step handshake: sends the initiator's tokens, feeds it the server's, until the
 * authenticated text message. Counts tokens each way.
 */
async function authenticate(
  c: WsClient,
  ini: Initiator,
): Promise<{ auth: WsAuthenticatedMessage; sent: number; received: number; complete: boolean }> {
  let out = await ini.step();
  c.send(out.token);
  let sent = 1;
  let received = 0;
  let complete = out.complete;
  for (let i = 0; i < 10; i++) {
    const m = await c.next();
    if (m.kind === 'close') throw new Error(`server closed the WebSocket: ${m.code} ${m.reason}`);
    if (m.kind === 'text') {
      const auth = JSON.parse(m.text) as WsAuthenticatedMessage;
      return { auth, sent, received, complete };
    }
    received += 1;
    out = await ini.step(m.data);
    complete = out.complete;
    if (out.token.length > 0) {
      c.send(out.token);
      sent += 1;
    }
  }
  throw new Error('no authenticated message within 10 messages');
}

/** Waits until the table holds no more handshakes and contexts than at the start. */
async function drained(): Promise<void> {
  await waitUntil(
    () => pool.stats().handshaking === baseline.handshaking && pool.stats().live === baseline.live,
    () =>
      `the context table back to ${JSON.stringify({ live: baseline.live, handshaking: baseline.handshaking })}, ` +
      `have ${JSON.stringify(pool.stats())}`,
  );
}

function assertKrb5(auth: WsAuthenticatedMessage, session: Session, spnego: boolean): void {
  assert.equal(auth.type, 'authenticated');
  assert.equal(auth.principal, realm.userPrincipal);
  assert.equal(auth.principal, 'alice@KRBTEST.COM');
  assert.equal(auth.mech, 'krb5');
  assert.equal(auth.spnego, spnego);
  assert.equal(auth.flags.mutual, true);
  assert.equal(auth.flags.confidentiality, true);
  assert.equal(typeof auth.flags.bits, 'number');
  assert.ok(typeof auth.expiresAt === 'number' && auth.expiresAt > Date.now(), 'a Kerberos context expires');
  assert.equal(session.frontend, 'ws');
  assert.equal(session.principal, auth.principal);
  assert.equal(session.mech, 'krb5');
  assert.equal(session.spnego, spnego);
  assert.equal(session.expiresAt, auth.expiresAt);
  assert.equal(session.remoteAddress, '127.0.0.1');
  assert.deepEqual(session.flags, auth.flags);
}

// ---------------------------------------------------------------------------- success paths

test(
  'SPNEGO Kerberos: final token verified by the initiator, authenticated message, session',
  { timeout: 30_000 },
  async () => {
    const session = nextEvent<Session>(main, 'session');
    const c = await WsClient.connect('/ws');
    const r = await authenticate(c, initiator('spnego'));
    assert.equal(r.sent, 1);
    assert.equal(r.received, 1, 'the AP-REP in SPNEGO accept-completed');
    assert.equal(r.complete, true, 'the initiator accepted the final token (mutual authentication)');
    assertKrb5(r.auth, await session, true);
    assert.ok(main.connections >= 1);
    c.ws.close(1000);
    assert.equal((await c.closeFrame()).code, 1000);
    await drained();
  },
);

test('raw Kerberos: AP-REQ, AP-REP, spnego false', { timeout: 30_000 }, async () => {
  const session = nextEvent<Session>(main, 'session');
  const c = await WsClient.connect('/ws');
  const r = await authenticate(c, initiator('krb5'));
  assert.deepEqual([r.sent, r.received, r.complete], [1, 1, true]);
  assertKrb5(r.auth, await session, false);
  c.terminate();
  await drained();
});

test('raw NTLM: negotiate, challenge, authenticate (3 legs) on one WebSocket', { timeout: 30_000 }, async () => {
  const session = nextEvent<Session>(main, 'session');
  const c = await WsClient.connect('/ws');
  const r = await authenticate(c, initiator('ntlm'));
  assert.deepEqual([r.sent, r.received, r.complete], [2, 1, true]);
  assert.equal(r.auth.principal, realm.ntlmUser);
  assert.match(r.auth.principal, /^KRBTEST\\alice$/);
  assert.equal(r.auth.mech, 'ntlmssp');
  assert.equal(r.auth.spnego, false);
  const s = await session;
  assert.equal(s.principal, realm.ntlmUser);
  assert.equal(s.mech, 'ntlmssp');
  c.terminate();
  await drained();
});

test('NTLM in SPNEGO: the initiator accepts the final accept-completed token', { timeout: 30_000 }, async () => {
  const c = await WsClient.connect('/ws');
  const r = await authenticate(c, initiator('spnego-ntlm'));
  assert.equal(r.sent, 2);
  assert.equal(r.received, 2, 'challenge, then accept-completed with mechListMIC');
  assert.equal(r.complete, true);
  assert.equal(r.auth.principal, realm.ntlmUser);
  assert.equal(r.auth.mech, 'ntlmssp');
  assert.equal(r.auth.spnego, true);
  c.terminate();
  await drained();
});

test('application messages after authentication: in-order echo, string replies', { timeout: 30_000 }, async () => {
  const c = await WsClient.connect('/ws');
  await authenticate(c, initiator('spnego'));
  for (const m of ['one', 'two', 'three']) c.send(Buffer.from(m));
  for (const m of ['one', 'two', 'three'])
    assert.equal((await c.nextBinary()).toString(), `${realm.userPrincipal}|${m}`);
  c.send(Buffer.from('text'));
  assert.equal(
    (await c.nextBinary()).toString('utf8'),
    'a string reply é',
    'a string reply arrives as a binary message of its UTF-8',
  );
  c.terminate();
  await drained();
});

test(
  'wrapMessages: the client wraps, the server unwraps, echoes and wraps, the client unwraps',
  { timeout: 30_000 },
  async () => {
    const ini = initiator('spnego');
    const c = await WsClient.connect('/wrapped');
    const r = await authenticate(c, ini);
    assert.equal(r.complete, true);
    for (const m of ['first secret', 'second secret']) {
      const token = await ini.wrap(Buffer.from(m));
      assert.equal(token.includes(Buffer.from(m)), false, 'sealed, not in clear');
      c.send(token);
      const answer = await c.nextBinary();
      assert.equal(answer.includes(Buffer.from(m)), false, 'the reply is sealed too');
      const { message, conf } = await ini.unwrap(answer);
      assert.equal(message.toString(), `${realm.userPrincipal}|${m}`);
      assert.equal(conf, true);
    }
    // A plain message is not a wrap token: the server cannot unwrap it.
    c.send(Buffer.from('not a wrap token'));
    const close = await c.closeFrame();
    assert.deepEqual([close.code, close.reason], [1008, 'unwrap failed']);
    await drained();
  },
);

// ---------------------------------------------------------------------------- failure paths

async function expectHandshakeFailure(
  acceptor: WsAcceptor,
  act: (c: WsClient) => void | Promise<void>,
  expected: { code: number; reason: string; error: string },
  path = '/ws',
): Promise<{ failure: WsHandshakeFailure; binaries: number }> {
  const failed = nextEvent<WsHandshakeFailure>(acceptor, 'handshakeFailed');
  const sessions: Session[] = [];
  const onSession = (s: Session): void => {
    sessions.push(s);
  };
  acceptor.on('session', onSession);
  try {
    const c = await WsClient.connect(path);
    await act(c);
    const close = await c.closeFrame();
    assert.deepEqual({ code: close.code, reason: close.reason }, { code: expected.code, reason: expected.reason });
    const failure = await failed;
    assert.equal(failure.code, expected.error, failure.message);
    assert.equal(failure.frontend, 'ws');
    assert.equal(failure.remoteAddress, '127.0.0.1');
    assert.ok(failure.latencyMs >= 0);
    assert.equal(sessions.length, 0, 'no session');
    await drained();
    return { failure, binaries: close.binaries };
  } finally {
    acceptor.off('session', onSession);
  }
}

test('a text message during the handshake: 1002', { timeout: 20_000 }, async () => {
  await expectHandshakeFailure(main, (c) => c.send('hello', false), {
    code: WS_CLOSE.PROTOCOL_ERROR,
    reason: 'protocol error',
    error: 'ERR_WS_PROTOCOL',
  });
});

test('an empty token: 1002', { timeout: 20_000 }, async () => {
  await expectHandshakeFailure(main, (c) => c.send(Buffer.alloc(0)), {
    code: 1002,
    reason: 'empty token',
    error: 'ERR_FRAME_EMPTY',
  });
});

test(
  'a second token before the answer to the first (lock-step violated): 1002, the first leg released',
  { timeout: 20_000 },
  async () => {
    const ini = initiator('ntlm');
    const { token } = await ini.step();
    const released = pool.stats().released;
    await expectHandshakeFailure(
      main,
      (c) => {
        c.send(token);
        c.send(token);
      },
      { code: 1002, reason: 'protocol error', error: 'ERR_WS_PROTOCOL' },
    );
    // The first leg created a context after the close: released when it returned.
    await waitUntil(
      () => pool.stats().released > released,
      () => `a release, have ${JSON.stringify(pool.stats())}`,
    );
  },
);

test(
  'a message over maxTokenBytes: 1009; over the uWS hard cap (2x): dropped without a close frame (1006)',
  { timeout: 20_000 },
  async () => {
    await expectHandshakeFailure(main, (c) => c.send(Buffer.alloc(MAX_TOKEN + 1, 0x60)), {
      code: 1009,
      reason: 'message too big',
      error: 'ERR_FRAME_TOO_LARGE',
    });
    const { failure } = await expectHandshakeFailure(main, (c) => c.send(Buffer.alloc(2 * MAX_TOKEN + 1, 0x60)), {
      code: 1006,
      reason: '',
      error: 'ERR_PROTOCOL',
    });
    assert.match(failure.message, /closed the connection during the handshake/);
    // Exactly maxTokenBytes is a token (a defective one).
    await expectHandshakeFailure(main, (c) => c.send(Buffer.alloc(MAX_TOKEN, 0x60)), {
      code: 1008,
      reason: 'authentication failed',
      error: 'ERR_GSS_DEFECTIVE_TOKEN',
    });
  },
);

test('a garbage token: 1008 and ERR_GSS_DEFECTIVE_TOKEN', { timeout: 20_000 }, async () => {
  await expectHandshakeFailure(main, (c) => c.send(Buffer.from('definitely not a token')), {
    code: 1008,
    reason: 'authentication failed',
    error: 'ERR_GSS_DEFECTIVE_TOKEN',
  });
});

test(
  'a replayed Kerberos token: the first use authenticates, the replay gets 1008 (ERR_GSS_REPLAY)',
  { timeout: 30_000 },
  async () => {
    const [token] = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 1);
    assert.ok(token);
    const first = await WsClient.connect('/ws');
    first.send(token);
    await first.nextBinary();
    const m = await first.next();
    assert.equal(m.kind, 'text');
    assert.equal((JSON.parse((m as { text: string }).text) as WsAuthenticatedMessage).principal, realm.userPrincipal);
    first.terminate();
    const { binaries } = await expectHandshakeFailure(main, (c) => c.send(token), {
      code: 1008,
      reason: 'authentication failed',
      error: 'ERR_GSS_REPLAY',
    });
    assert.ok(binaries <= 1, 'at most the GSS error token before the close');
  },
);

test('handshake timeout: 1008 "handshake timeout", idle or mid-NTLM', { timeout: 20_000 }, async () => {
  const t0 = Date.now();
  const { failure } = await expectHandshakeFailure(
    slow,
    () => {},
    { code: 1008, reason: 'handshake timeout', error: 'ERR_HANDSHAKE_TIMEOUT' },
    '/slow',
  );
  assert.ok(Date.now() - t0 < 5000);
  assert.ok(failure.latencyMs >= 250, `closed after ${failure.latencyMs} ms`);
  // Mid-NTLM: the context created by the first leg is released by the close.
  const ini = initiator('ntlm');
  const { token } = await ini.step();
  await expectHandshakeFailure(
    slow,
    async (c) => {
      c.send(token);
      await c.nextBinary();
      assert.equal(pool.stats().handshaking, baseline.handshaking + 1, 'an NTLM context waits for leg 2');
    },
    { code: 1008, reason: 'handshake timeout', error: 'ERR_HANDSHAKE_TIMEOUT' },
    '/slow',
  );
});

test('client disconnect mid-NTLM: the handshake is released', { timeout: 20_000 }, async () => {
  const before = pool.stats();
  const failed = nextEvent<WsHandshakeFailure>(main, 'handshakeFailed');
  const ini = initiator('ntlm');
  const c = await WsClient.connect('/ws');
  c.send((await ini.step()).token);
  await c.nextBinary();
  assert.equal(pool.stats().handshaking, before.handshaking + 1);
  c.terminate();
  await waitUntil(
    () => pool.stats().handshaking === before.handshaking && pool.stats().released === before.released + 1,
    () => `handshaking ${before.handshaking} and released ${before.released + 1}, have ${JSON.stringify(pool.stats())}`,
  );
  const f = await failed;
  assert.equal(f.code, 'ERR_PROTOCOL');
  assert.match(f.message, /client closed/);
});

test(
  'client disconnect while its leg waits for a worker: released after the leg returns',
  { timeout: 20_000 },
  async () => {
    const before = pool.stats();
    const ini = initiator('ntlm');
    const { token } = await ini.step();
    // Occupy both workers so the leg queues.
    const stalls = [pool.stallWorker(600), pool.stallWorker(600)];
    const c = await WsClient.connect('/ws');
    c.send(token);
    await waitUntil(
      () => pool.stats().queued >= 1,
      () => `the leg queued, have ${JSON.stringify(pool.stats())}`,
    );
    c.terminate();
    await waitUntil(
      () => c.closed,
      () => 'the client to close',
    );
    await Promise.all(stalls);
    await waitUntil(
      () =>
        pool.stats().created > before.created &&
        pool.stats().handshaking === before.handshaking &&
        pool.stats().released === before.released + 1,
      () => `the late context created and released, have ${JSON.stringify(pool.stats())}`,
    );
  },
);

test('a text message after authentication: 1003; an onMessage exception: 1011', { timeout: 30_000 }, async () => {
  const a = await WsClient.connect('/ws');
  await authenticate(a, initiator('krb5'));
  a.send('hello', false);
  assert.deepEqual(await a.closeFrame(), { code: 1003, reason: 'binary messages only', binaries: 0 });
  const b = await WsClient.connect('/ws');
  await authenticate(b, initiator('krb5'));
  b.send(Buffer.from('boom'));
  assert.deepEqual(await b.closeFrame(), { code: 1011, reason: 'internal error', binaries: 0 });
  await drained();
});

test('bad options are refused before uWS sees them (it would terminate the process)', () => {
  const app = loadUws().App();
  for (const bad of [
    { idleTimeoutSeconds: 5 },
    { idleTimeoutSeconds: 961 },
    { maxTokenBytes: 0 },
    { handshakeTimeoutMs: -1 },
    { path: 'ws' },
  ]) {
    assert.throws(
      () => attachWebSocket(app, { path: '/x', pool, ...bad }),
      (e: unknown) => e instanceof ConfigError && e.code === 'ERR_CONFIG',
      JSON.stringify(bad),
    );
  }
});

test(
  'close(): every socket ends with 1001, later upgrades get 503, contexts released',
  { timeout: 30_000 },
  async () => {
    const done = await WsClient.connect('/closing');
    await authenticate(done, initiator('krb5'));
    const mid = await WsClient.connect('/closing');
    mid.send((await initiator('ntlm').step()).token);
    await mid.nextBinary();
    assert.equal(closing.connections, 2);
    const failed = nextEvent<WsHandshakeFailure>(closing, 'handshakeFailed');
    await closing.close();
    assert.equal(closing.connections, 0);
    assert.deepEqual(await done.closeFrame(), { code: 1001, reason: 'server shutting down', binaries: 0 });
    assert.deepEqual(await mid.closeFrame(), { code: 1001, reason: 'server shutting down', binaries: 0 });
    assert.match((await failed).message, /shut down during the handshake/);
    await assert.rejects(WsClient.connect('/closing'), /503/);
    await drained();
  },
);

test('after everything: the context table is back to its baseline', async () => {
  for (const c of clients) c.terminate();
  await waitUntil(
    () => main.connections + wrapped.connections + slow.connections + closing.connections === 0,
    () => 'every socket closed',
  );
  await drained();
  assert.equal(main.connections + wrapped.connections + slow.connections + closing.connections, 0);
  assert.equal(pool.stats().live, baseline.live);
});
