/**
 * `--replay-cache memory`: MIT's file cache off, the addon's process-wide cache of authenticator
 * tags on. Real tokens from python3-gssapi, a real pool of two worker threads: a replay must be
 * refused whichever worker sees it, through SPNEGO and raw krb5, and even with the AP-REQ's
 * unprotected ap-options altered. Re-encoded AP-REQs: test/hostile/replayBypass.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthPool } from '../../src/pool/AuthPool.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { loadNative } from '../../src/native.js';
import { startTestRealm } from '../support/realm.js';
import { FAULT_WORKER } from '../support/faultWorker.js';
import { failureCode } from '../support/outcome.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';
import { firstTokens } from '../support/initiator.js';
import { findApOptions } from '../support/apReq.js';

let realm: ThrowawayRealm;
let pool: AuthPool;
let nextId = 5_000_000;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab, replayCache: 'memory' }, workers: 2, workerFile: FAULT_WORKER });
});
after(async () => {
  await pool?.close();
  await realm?.destroy();
});

/** Accepts `token` once, then offers it again on the OTHER worker thread. */
async function replayOnOtherWorker(token: Buffer): Promise<{ firstWorker: number; replayCode: string }> {
  const first = await pool.accept(nextId++, token, { releaseAfter: true });
  assert.equal(first.status, 'complete');
  const stall = await pool.stallWorkerWhile(first.workerThreadId);
  try {
    return { firstWorker: first.workerThreadId, replayCode: await failureCode(pool.accept(nextId++, token, { releaseAfter: true })) };
  } finally {
    stall.release();
    await stall.done;
  }
}

// First, while the cache is empty: tags expire a generation at a time, so a tag with a short
// window in a generation with long-window tags would (safely) linger until they go.
test('tags expire after the window, and only then', async () => {
  const addon = loadNative();
  addon.configureReplayCache({ capacity: 4_000_000, windowMs: 300 });
  try {
    const base = pool.replayStats().entries;
    assert.equal(base, 0);
    const [token] = await firstTokens(realm, { mech: 'spnego' }, 1);
    assert.ok(token);
    assert.equal(await failureCode(pool.accept(nextId++, token, { releaseAfter: true })), 'accepted');
    assert.equal(pool.replayStats().entries, base + 1);
    assert.equal(await failureCode(pool.accept(nextId++, token, { releaseAfter: true })), 'ERR_GSS_REPLAY', 'within the window');
    await sleep(400);
    assert.equal(pool.replayStats().entries, base);
  } finally {
    addon.configureReplayCache({ capacity: 4_000_000 });
  }
});

test('an SPNEGO token replayed on another worker thread is refused (ERR_GSS_REPLAY)', async () => {
  const [token] = await firstTokens(realm, { mech: 'spnego' }, 1);
  assert.ok(token);
  const before = pool.replayStats();
  assert.equal(before.enabled, true);
  assert.equal(before.windowMs, 2 * 300 * 1000, 'twice the realm krb5.conf clockskew (MIT default 300 s)');
  const { replayCode } = await replayOnOtherWorker(token);
  assert.equal(replayCode, 'ERR_GSS_REPLAY');
  const after = pool.replayStats();
  assert.equal(after.recorded - before.recorded, 1);
  assert.equal(after.replays - before.replays, 1);
  assert.equal(pool.stats().live, 0, 'both contexts freed');
});

test('a raw krb5 token replayed on another worker thread is refused', async () => {
  const [token] = await firstTokens(realm, { mech: 'krb5' }, 1);
  assert.ok(token);
  const { replayCode } = await replayOnOtherWorker(token);
  assert.equal(replayCode, 'ERR_GSS_REPLAY');
});

test('a replay with a flipped ap-options bit is still refused: the tag comes from the accepted context, not the token', async () => {
  const unprotected = await AuthPool.start({ credentials: { keytab: realm.keytab, replayCache: 'none' }, workers: 1 });
  try {
  for (const mech of ['spnego', 'krb5'] as const) {
    const [token] = await firstTokens(realm, { mech }, 1);
    assert.ok(token);
    const at = findApOptions(token);
    assert.ok(at !== undefined, `${mech}: the test can find ap-options in the AP-REQ`);
    const altered = Buffer.from(token);
    // ap-options is a BIT STRING that no checksum covers; flip mutual-required (bit 2). MIT then
    // accepts the altered token without mutual authentication: only the tag can catch it.
    altered[at.firstFlagByte] = (altered[at.firstFlagByte] ?? 0) ^ 0x20;
    assert.notDeepEqual(altered, token);
    // Without any replay cache MIT accepts the altered token: it is a valid AP-REQ.
    assert.equal(await failureCode(unprotected.accept(nextId++, altered, { releaseAfter: true })), 'accepted', `${mech}: MIT accepts the altered token`);
    const first = await pool.accept(nextId++, token, { releaseAfter: true });
    assert.equal(first.status, 'complete');
    const code = await failureCode(pool.accept(nextId++, altered, { releaseAfter: true }));
    assert.equal(code, 'ERR_GSS_REPLAY', `${mech}: the altered replay is refused as a replay`);
  }
  } finally {
    await unprotected.close();
  }
});

test('the same token raced on both workers at once: exactly one accept wins', async () => {
  const tokens = await firstTokens(realm, { mech: 'spnego' }, 20);
  let accepted = 0;
  let replays = 0;
  for (const token of tokens) {
    const results = await Promise.all([0, 1].map(() => failureCode(pool.accept(nextId++, token, { releaseAfter: true }))));
    accepted += results.filter((r) => r === 'accepted').length;
    replays += results.filter((r) => r === 'ERR_GSS_REPLAY').length;
  }
  assert.equal(accepted, tokens.length, 'one accept per token');
  assert.equal(replays, tokens.length, 'the other one is refused as a replay');
  assert.equal(pool.stats().live, 0);
});

test('distinct fresh tokens are all accepted (no false replays) and each adds one entry', async () => {
  const tokens = await firstTokens(realm, { mech: 'spnego' }, 50);
  const before = pool.replayStats();
  for (const token of tokens) assert.equal(await failureCode(pool.accept(nextId++, token, { releaseAfter: true })), 'accepted');
  assert.equal(pool.replayStats().entries - before.entries, tokens.length);
});

test('a full cache refuses new authenticators (fails closed) but still recognises replays', async () => {
  const [seen] = await firstTokens(realm, { mech: 'spnego' }, 1);
  assert.ok(seen);
  assert.equal(await failureCode(pool.accept(nextId++, seen, { releaseAfter: true })), 'accepted');
  const addon = loadNative();
  const { entries } = pool.replayStats();
  addon.configureReplayCache({ capacity: entries + 1, principalQuota: 1_000_000 });
  try {
    const [a, b] = await firstTokens(realm, { mech: 'spnego' }, 2);
    assert.ok(a && b);
    assert.equal(await failureCode(pool.accept(nextId++, a, { releaseAfter: true })), 'accepted', 'the last free slot');
    assert.equal(await failureCode(pool.accept(nextId++, b, { releaseAfter: true })), 'ERR_REPLAY_CACHE_FULL');
    assert.equal(await failureCode(pool.accept(nextId++, seen, { releaseAfter: true })), 'ERR_GSS_REPLAY');
    assert.ok(pool.replayStats().refusedFull >= 1);
    assert.equal(pool.stats().live, 0);
  } finally {
    addon.configureReplayCache({ capacity: 4_000_000 });
  }
});

test('a tampered token never enters the cache: only contexts GSSAPI completed are recorded', async () => {
  const before = pool.replayStats();
  const [token] = await firstTokens(realm, { mech: 'spnego' }, 1);
  assert.ok(token);
  const broken = Buffer.from(token);
  broken[broken.length - 3] = (broken[broken.length - 3] ?? 0) ^ 0xff; // inside the authenticator's HMAC
  assert.notEqual(await failureCode(pool.accept(nextId++, broken, { releaseAfter: true })), 'accepted');
  assert.equal(pool.replayStats().recorded, before.recorded);
  // The genuine token is still fresh: the failed attempt recorded nothing.
  assert.equal(await failureCode(pool.accept(nextId++, token, { releaseAfter: true })), 'accepted');
});
