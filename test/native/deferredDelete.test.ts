/**
 * Released contexts leave the table at once and are deleted off the socket thread: by the
 * workers after each batch, or by the pool's periodic sweep when no batch comes. Bounded.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthPool } from '../../src/pool/AuthPool.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';
import { firstTokens } from '../support/initiator.js';
import { failureCode } from '../support/outcome.js';
import { waitUntil } from '../support/waitUntil.js';

let realm: ThrowawayRealm;
let nextId = 9_000_000;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
});
after(async () => {
  await realm?.destroy();
});

/** Establishes one context per token (kept in the table, as a TCP session's is). */
async function establish(pool: AuthPool, tokens: Buffer[]): Promise<number[]> {
  const ids: number[] = [];
  for (const t of tokens) {
    const id = nextId++;
    const step = await pool.accept(id, t);
    assert.equal(step.status, 'complete');
    ids.push(id);
  }
  return ids;
}

test('released contexts are deleted by the workers after their next batch', async () => {
  const pool = await AuthPool.start({ credentials: { keytab: realm.keytab }, workers: 2, handshakeTtlMs: 60_000 });
  try {
    const ids = await establish(pool, await firstTokens(realm, { mech: 'spnego' }, 10));
    const before = pool.stats();
    for (const id of ids) assert.equal(pool.release(id), true);
    const released = pool.stats();
    assert.equal(released.live, before.live - 10, 'out of the table at once');
    assert.equal(released.pendingDelete - before.pendingDelete, 10, 'deletion left to a worker');
    // Any batch drains (up to 32 each): a failing accept is enough.
    assert.notEqual(await failureCode(pool.accept(nextId++, Buffer.from('not a token'), { releaseAfter: true })), 'accepted');
    assert.equal(pool.stats().pendingDelete, 0);
  } finally {
    await pool.close();
  }
});

test('with no batch to carry them, the periodic sweep deletes them', async () => {
  // The sweep runs every min(handshakeTtlMs, 5000) ms.
  const pool = await AuthPool.start({ credentials: { keytab: realm.keytab }, workers: 1, handshakeTtlMs: 200 });
  try {
    const ids = await establish(pool, await firstTokens(realm, { mech: 'spnego' }, 5));
    for (const id of ids) pool.release(id);
    assert.equal(pool.stats().pendingDelete, 5);
    await waitUntil(() => pool.stats().pendingDelete === 0, () => `the deferred deletes to run, ${pool.stats().pendingDelete} pending`, 3000, 50);
  } finally {
    await pool.close();
  }
});

test('at most 1024 wait; beyond that release() deletes on its own thread, and close() deletes the rest', async () => {
  const pool = await AuthPool.start({ credentials: { keytab: realm.keytab }, workers: 2, handshakeTtlMs: 60_000 });
  try {
    const ids = await establish(pool, await firstTokens(realm, { mech: 'spnego' }, 1030));
    // Released in one synchronous run: no batch or sweep can drain in between.
    for (const id of ids) pool.release(id);
    const s = pool.stats();
    assert.equal(s.pendingDelete, 1024);
    assert.equal(s.live, 0);
  } finally {
    await pool.close();
  }
  // close() frees everything (releaseAll empties the pending list too).
  assert.equal(pool.stats().pendingDelete, 0);
});
