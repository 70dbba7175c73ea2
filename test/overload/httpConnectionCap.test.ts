/**
 * Issue 10, item 4: the HTTP listener is capped like the TCP ones. This uWS build holds an idle
 * HTTP connection ~12 s and tells JavaScript nothing about it, so before the cap idle sockets
 * (and WebSockets) could take every descriptor of the process, after which the sspi front end
 * and the admin /healthz failed silently. With `maxConnections` 20 the 21st connection is
 * refused at once while sspi and /healthz keep working; when the idle sockets leave, HTTP
 * accepts again. (Before the fix the connections beyond the cap were accepted: the first case
 * timed out waiting for a refusal.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { legitHandshake, ServerWatch } from '../hostile/harness.js';
import { waitUntil } from '../support/waitUntil.js';

const CAP = 20;
const T = { timeout: 60_000 };

let realm: ThrowawayRealm;
let ts: TestServer;
let watch: ServerWatch;
let adminPort = 0;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  ts = await startTestServer(realm, {
    gssSample: undefined,
    http: { host: '127.0.0.1', port: 0 },
    wsPath: '/ws',
    admin: { host: '127.0.0.1', port: 0 },
    maxConnections: CAP,
  });
  watch = new ServerWatch(ts.server);
  adminPort = ts.server.listening().find((l) => l.frontend === 'admin')?.port ?? 0;
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
});

/** Connects to the HTTP port: 'open' (with the socket) or 'refused'. */
function connect(): Promise<{ result: 'open'; socket: net.Socket } | { result: 'refused' }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: ts.httpPort });
    s.once('connect', () => resolve({ result: 'open', socket: s }));
    s.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET') resolve({ result: 'refused' });
      else reject(err);
    });
  });
}

async function openIdle(n: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const c = await connect();
    assert.equal(c.result, 'open', `idle connection ${i + 1} of ${n} is accepted`);
    if (c.result === 'open') sockets.push(c.socket);
  }
  return sockets;
}

function healthz(): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: adminPort, path: '/healthz', agent: false, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

/** Waits until a new HTTP connection is refused (the cap is enforced within a sampling interval). */
async function untilRefused(): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const c = await connect();
    if (c.result === 'refused') return;
    c.socket.destroy();
    assert.ok(Date.now() < deadline, 'a connection beyond the cap was still accepted after 3 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(
  'idle HTTP sockets up to the cap: more are refused; sspi and /healthz still work; HTTP accepts again when they leave',
  T,
  async () => {
    const idle = await openIdle(CAP);
    try {
      await untilRefused();
      for (let i = 0; i < 10; i++)
        assert.equal((await connect()).result, 'refused', 'every connection beyond the cap is refused');
      assert.equal(await healthz(), 200, 'the admin listener answers');
      await legitHandshake(watch, realm, ts, 'sspi');
    } finally {
      for (const s of idle) s.destroy();
    }
    await waitUntil(() => !ts.server.http?.atConnectionCap, 'HTTP to accept again', 3000);
    await legitHandshake(watch, realm, ts, 'http');
  },
);

test('WebSockets count against the same cap', T, async () => {
  await waitUntil(() => !ts.server.http?.atConnectionCap, 'HTTP below its cap', 3000);
  const sockets: WebSocket[] = [];
  try {
    for (let i = 0; i < CAP; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${ts.httpPort}/ws`);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      sockets.push(ws);
    }
    await untilRefused();
    assert.equal(await healthz(), 200);
  } finally {
    for (const ws of sockets) ws.terminate();
  }
  await waitUntil(() => !ts.server.http?.atConnectionCap, 'HTTP to accept again', 3000);
  await legitHandshake(watch, realm, ts, 'http');
});
