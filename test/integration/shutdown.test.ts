/**
 * Graceful shutdown: NegotiateServer.close() stops accepting, lets a handshake already in
 * flight finish within the grace period, then closes the rest and frees every context.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { decodeSspiGreeting, encodeSspiFrame, SspiFrameDecoder } from '../../src/framing/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';
import { FAULT_WORKER } from '../support/faultWorker.js';
import { requirePythonGssapi, startTestServer } from '../support/server.js';
import { firstTokens } from '../support/initiator.js';

let realm: ThrowawayRealm;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
});
after(async () => {
  await realm?.destroy();
});

function collect(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks))));
}

test('a handshake in flight at shutdown completes; idle connections are closed; nothing is left', async () => {
  const ts = await startTestServer(realm, { workers: 1, shutdownGraceMs: 3000, workerFile: FAULT_WORKER });
  const [token] = await firstTokens(realm, { mech: 'krb5' }, 1);
  assert.ok(token);
  // Hold the only worker so the handshake is still in flight when close() starts.
  const stall = ts.server.pool.stallWorker(400);
  const busy = net.connect(ts.sspiPort, '127.0.0.1');
  const idle = net.connect(ts.sspiPort, '127.0.0.1');
  await Promise.all([busy, idle].map((s) => new Promise((r) => s.once('connect', r))));
  const busyBytes = collect(busy);
  const idleBytes = collect(idle);
  busy.write(encodeSspiFrame(token));
  await new Promise((r) => setTimeout(r, 50));

  const t0 = Date.now();
  const closing = ts.server.close(3000);
  // New connections are refused at once.
  await new Promise<void>((resolve) => {
    const late = net.connect(ts.sspiPort, '127.0.0.1');
    late.once('error', () => resolve());
    late.once('close', () => resolve());
  });
  await closing;
  await stall.catch(() => undefined);
  const elapsed = Date.now() - t0;

  const reply = await busyBytes;
  const frames = new SspiFrameDecoder(65536).push(reply.subarray(0, 4 + reply.readUInt32LE(0)));
  assert.equal(frames.length, 1, 'the AP-REP arrived');
  const { trailer, ciphertext } = decodeSspiGreeting(reply.subarray(4 + reply.readUInt32LE(0)));
  assert.ok(trailer.length > 0 && ciphertext.length === 'This is your server speaking'.length, 'the greeting arrived');
  assert.equal((await idleBytes).length, 0, 'the idle connection was closed without data');
  assert.ok(elapsed < 2500, `shutdown waited for the handshake, not the whole grace period (${elapsed} ms)`);
  assert.equal(ts.server.pool.stats().live, 0);
});
