/**
 * A failed WebSocket handshake frees its socket at once ("Hostile clients II", item 12). The
 * server used to send its close frame (1008) from inside a cork, where uWS postpones the TCP FIN
 * and never sends it, and to ignore everything after its own close frame: a client that answers
 * the close and then waits for the server to close the TCP connection (RFC 6455 §7.1.1), or one
 * that does not answer at all, held the socket until a uWS timer fired 13-16 s later. Now the FIN
 * follows the close frame at once.
 *
 * The clients: the `ws` package as is (it half-closes itself after the closing handshake), and a
 * hand-framed client on a half-open socket that answers the close frame and waits, or never
 * answers, so that only the server's FIN can end the exchange.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';
import { ServerWatch } from './harness.js';

const T = { timeout: 60_000 };
/** "Well under a second" from the close frame to the server's FIN. */
const PROMPT_MS = 500;
/** Longer than any prompt close, shorter than the uWS timer (13-16 s) the old code waited for. */
const WAIT_MS = 5000;
/** Not a GSS token: GSSAPI refuses it at once (ERR_GSS_DEFECTIVE_TOKEN, close 1008). */
const BAD_TOKEN = Buffer.from('6006not a token at all');

let realm: ThrowawayRealm;
let ts: TestServer;
let watch: ServerWatch;

before(async () => {
  realm = await startTestRealm();
  ts = await startTestServer(realm, {
    http: { host: '127.0.0.1', port: 0 },
    wsPath: '/ws',
    sspi: undefined,
    gssSample: undefined,
  });
  watch = new ServerWatch(ts.server);
});
after(async () => {
  await ts?.server.close();
  await realm?.destroy();
});

/** A client frame (RFC 6455 §5.2): FIN set, masked, payload under 126 bytes. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  assert.ok(payload.length < 126);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]);
}

/** What the hand-framed client saw. */
interface Observed {
  /** The server's close frame: its code and when it arrived. */
  close?: { code: number; reason: string; at: number };
  /** The server's FIN. */
  endAt?: number;
  closedAt?: number;
}

/**
 * Upgrades a half-open socket (the server's FIN does not end our side) and sends `token`.
 * `answer`: reply to the server's close frame with our own, then end our side once the server
 * has ended its own (an RFC 6455 client); otherwise never reply nor end (the test destroys it).
 */
async function handFramedClient(answer: boolean): Promise<{ observed: Observed; socket: net.Socket }> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: ts.httpPort,
      path: '/ws',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
      createConnection: () => net.connect({ host: '127.0.0.1', port: ts.httpPort, allowHalfOpen: true }),
    });
    req.on('upgrade', (res, s) =>
      res.statusCode === 101 ? resolve(s) : reject(new Error(`status ${res.statusCode}`)),
    );
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
  const observed: Observed = {};
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    // Server frames are unmasked and short here: a 2-byte header.
    while (buf.length >= 2 && buf.length >= 2 + ((buf[1] as number) & 0x7f)) {
      const opcode = (buf[0] as number) & 0x0f;
      const len = (buf[1] as number) & 0x7f;
      const payload = buf.subarray(2, 2 + len);
      buf = buf.subarray(2 + len);
      if (opcode === 0x8 && !observed.close) {
        observed.close = { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString(), at: Date.now() };
        if (answer) socket.write(clientFrame(0x8, payload.subarray(0, 2)));
      }
    }
  });
  socket.on('end', () => {
    observed.endAt = Date.now();
    if (answer) socket.end();
  });
  socket.on('close', () => {
    observed.closedAt = Date.now();
  });
  socket.on('error', () => {});
  socket.write(clientFrame(0x2, BAD_TOKEN));
  return { observed, socket };
}

for (const answer of [true, false]) {
  const who = answer ? 'answers the close and waits for the server to close' : 'never answers the close';
  test(`a client that ${who}: the server's FIN follows its 1008 close frame well under a second`, T, async () => {
    const m = watch.mark();
    const { observed, socket } = await handFramedClient(answer);
    try {
      await waitUntil(() => observed.close !== undefined, 'the close frame', WAIT_MS);
      const close = observed.close as NonNullable<Observed['close']>;
      assert.equal(close.code, 1008);
      assert.equal(close.reason, 'authentication failed');
      await waitUntil(
        () => observed.endAt !== undefined,
        () => `the server's FIN within ${WAIT_MS} ms of its close frame`,
        WAIT_MS,
      );
      const finAfter = (observed.endAt as number) - close.at;
      assert.ok(finAfter < PROMPT_MS, `the FIN came ${finAfter} ms after the close frame`);
      if (answer) {
        await waitUntil(() => observed.closedAt !== undefined, 'the TCP connection closed', WAIT_MS);
        assert.ok((observed.closedAt as number) - close.at < PROMPT_MS);
      }
      const f = await watch.failureSince(m);
      assert.equal(f.code, 'ERR_GSS_DEFECTIVE_TOKEN', f.message);
      assert.equal(f.frontend, 'ws');
      await watch.drained();
    } finally {
      socket.destroy();
    }
  });
}

test('the ws package: close 1008 and the TCP close well under a second after a failed login', T, async () => {
  const m = watch.mark();
  const ws = new WebSocket(`ws://127.0.0.1:${ts.httpPort}/ws`);
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
  });
  const sent = Date.now();
  ws.send(BAD_TOKEN);
  const [code, reason] = await new Promise<[number, string]>((resolve) =>
    ws.once('close', (c: number, r: Buffer) => resolve([c, r.toString()])),
  );
  const closedAfter = Date.now() - sent;
  assert.equal(code, 1008);
  assert.equal(reason, 'authentication failed');
  assert.ok(closedAfter < PROMPT_MS + 500, `closed ${closedAfter} ms after the token`);
  assert.equal((await watch.failureSince(m)).code, 'ERR_GSS_DEFECTIVE_TOKEN');
  await watch.drained();
  assert.equal(ts.server.ws?.connections, 0);
});

test('the handshake deadline (a timer, outside any uWS callback): close 1008 then the FIN at once', T, async () => {
  // A token-less client: only the deadline ends it. The server's own deadline is 10 s here,
  // so a second server with a short one.
  const short = await startTestServer(realm, {
    http: { host: '127.0.0.1', port: 0 },
    wsPath: '/ws',
    sspi: undefined,
    gssSample: undefined,
    handshakeTimeoutMs: 300,
  });
  try {
    const socket = net.connect({ host: '127.0.0.1', port: short.httpPort, allowHalfOpen: true });
    socket.on('error', () => {});
    const observed: Observed = {};
    let buf = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const at = buf.indexOf(Buffer.from([0x88]));
      if (at >= 0 && !observed.close) observed.close = { code: 0, reason: '', at: Date.now() };
    });
    socket.on('end', () => {
      observed.endAt = Date.now();
    });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: ` +
        `13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
    );
    try {
      await waitUntil(() => observed.close !== undefined, 'the close frame', WAIT_MS);
      await waitUntil(
        () => observed.endAt !== undefined,
        () => `the server's FIN within ${WAIT_MS} ms of its close frame`,
        WAIT_MS,
      );
      const finAfter = (observed.endAt as number) - (observed.close as NonNullable<Observed['close']>).at;
      assert.ok(finAfter < PROMPT_MS, `the FIN came ${finAfter} ms after the close frame`);
    } finally {
      socket.destroy();
    }
  } finally {
    await short.server.close();
  }
});
