/** Failed Basic logins counted per user and per address (src/basic/FailureLimiter.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailureLimiter } from '../../src/basic/FailureLimiter.js';

test('a user is refused after maxFailuresPerUser, until the window ends; names compare case-insensitively', () => {
  let now = 1_000_000;
  const l = new FailureLimiter({ maxFailuresPerUser: 3, windowMs: 60_000, now: () => now });
  for (let i = 0; i < 3; i++) {
    assert.equal(l.retryAfterMs('alice', `10.0.0.${i}`), 0);
    l.failed(i === 1 ? 'ALICE' : 'alice', `10.0.0.${i}`);
  }
  assert.equal(l.retryAfterMs('Alice', '10.0.0.9'), 60_000);
  assert.equal(l.retryAfterMs('bob', '10.0.0.9'), 0);
  now += 59_000;
  assert.equal(l.retryAfterMs('alice', undefined), 1_000);
  now += 1_000;
  assert.equal(l.retryAfterMs('alice', undefined), 0);
});

test('an address is refused after maxFailuresPerAddress, whatever the user', () => {
  const l = new FailureLimiter({ maxFailuresPerAddress: 2, now: () => 0 });
  l.failed('u1', '192.0.2.1');
  l.failed('u2', '192.0.2.1');
  assert.ok(l.retryAfterMs('u3', '192.0.2.1') > 0);
  assert.equal(l.retryAfterMs('u3', '192.0.2.2'), 0);
});

test("a right password clears the user's count, not the address's", () => {
  const l = new FailureLimiter({ maxFailuresPerUser: 2, maxFailuresPerAddress: 2, now: () => 0 });
  l.failed('alice', 'a');
  l.succeeded('alice');
  l.failed('alice', 'a');
  assert.equal(l.retryAfterMs('alice', 'b'), 0);
  assert.ok(l.retryAfterMs('carol', 'a') > 0);
});

test('both maps stay within maxEntries: the least recently failed goes first', () => {
  const l = new FailureLimiter({ maxFailuresPerUser: 1, maxEntries: 100, now: () => 0 });
  for (let i = 0; i < 10_000; i++) l.failed(`user${i}`, `addr${i}`);
  assert.deepEqual(l.tracked, { users: 100, addresses: 100 });
  assert.ok(l.retryAfterMs('user9999', undefined) > 0);
  assert.equal(l.retryAfterMs('user0', undefined), 0);
});

test('bad options are refused', () => {
  assert.throws(() => new FailureLimiter({ windowMs: 0 }), RangeError);
  assert.throws(() => new FailureLimiter({ maxEntries: 1.5 }), RangeError);
});
