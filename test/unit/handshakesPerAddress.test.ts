/** The per-address bound on handshakes in progress (src/handshake/HandshakesPerAddress.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ContextError } from '../../src/errors.js';
import { classify, defaultHandshakesPerAddress, HandshakesPerAddress } from '../../src/handshake/index.js';
import { closeFor, WS_CLOSE } from '../../src/acceptors/wsClose.js';

test('an address holds at most `limit` slots; others are not affected; a release frees one, once', () => {
  const b = new HandshakesPerAddress(2);
  const a1 = b.acquire('10.0.0.1');
  const a2 = b.acquire('10.0.0.1');
  assert.throws(() => b.acquire('10.0.0.1'), (e: unknown) => e instanceof ContextError && e.code === 'ERR_HANDSHAKES_PER_ADDRESS');
  const other = b.acquire('10.0.0.2');
  assert.equal(b.inProgress, 3);
  assert.equal(b.addresses, 2);
  assert.equal(b.refused, 1);
  a1.release();
  a1.release();
  assert.equal(b.inProgress, 2, 'a second release of the same slot frees nothing');
  const a3 = b.acquire('10.0.0.1');
  assert.throws(() => b.acquire('10.0.0.1'));
  for (const s of [a2, a3, other]) s.release();
  assert.equal(b.inProgress, 0);
  assert.equal(b.addresses, 0, 'no entry is kept for an address without handshakes');
  assert.equal(b.refused, 2);
});

test('an IPv4 client of a dual-stack listener counts as the same address', () => {
  const b = new HandshakesPerAddress(1);
  const s = b.acquire('127.0.0.1');
  assert.throws(() => b.acquire('::ffff:127.0.0.1'));
  s.release();
  b.acquire('::FFFF:127.0.0.1');
  assert.throws(() => b.acquire('127.0.0.1'));
});

test('the default is a tenth of --max-contexts, at least 1; bad limits are refused', () => {
  assert.equal(defaultHandshakesPerAddress(100_000), 10_000);
  assert.equal(defaultHandshakesPerAddress(50), 5);
  assert.equal(defaultHandshakesPerAddress(5), 1);
  assert.throws(() => new HandshakesPerAddress(0), RangeError);
  assert.throws(() => new HandshakesPerAddress(1.5), RangeError);
});

test('a refusal is overload: busy, WebSocket close 1013', () => {
  const err = new ContextError('ERR_HANDSHAKES_PER_ADDRESS', 'full');
  assert.equal(classify(err), 'busy');
  assert.deepEqual(closeFor(err), { code: WS_CLOSE.TRY_AGAIN_LATER, reason: 'server busy' });
});
