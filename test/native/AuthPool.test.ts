/**
 * The worker pool and the native context table against a real realm and a real initiator
 * (python3-gssapi), without sockets: every leg, message protection, limits and faults.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AuthPool, type AuthPoolOptions } from '../../src/pool/AuthPool.js';
import { Session } from '../../src/session.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { NegotiateError } from '../../src/errors.js';
import { startTestRealm } from '../support/realm.js';
import { FAULT_WORKER } from '../support/faultWorker.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';
import { Initiator, firstTokens } from '../support/initiator.js';
import { waitUntil } from '../support/waitUntil.js';

let realm: ThrowawayRealm;
let nextId = 1_000_000;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
});
after(async () => {
  await realm?.destroy();
});

async function withPool(opts: Partial<AuthPoolOptions>, fn: (pool: AuthPool) => Promise<void>): Promise<void> {
  const pool = await AuthPool.start({ credentials: { keytab: realm.keytab, ntlm: true }, workers: 2, ...opts });
  try {
    await fn(pool);
  } finally {
    await pool.close();
  }
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<NegotiateError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof NegotiateError, `expected a NegotiateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected rejection with ${code}`);
}

/** Runs a whole handshake; returns the session (as the acceptors build it) and the initiator. */
async function handshake(pool: AuthPool, mech: 'spnego' | 'krb5' | 'ntlm' | 'spnego-ntlm') {
  const id = nextId++;
  const ini = Initiator.start(realm, { mech });
  let out = await ini.step();
  const workers = new Set<number>();
  for (let legs = 0; legs < 10; legs++) {
    const step = await pool.accept(id, out.token);
    workers.add(step.workerThreadId);
    if (step.status === 'complete') {
      if (step.output.length > 0) out = await ini.step(step.output);
      assert.equal(out.complete, true, 'the initiator accepts the final token (mutual authentication)');
      const session = new Session(pool, {
        connectionId: id,
        frontend: 'sspi',
        remoteAddress: undefined,
        remotePort: undefined,
        ...step,
      });
      return { id, ini, session, step, workers };
    }
    out = await ini.step(step.output);
  }
  throw new Error('handshake did not complete in 10 legs');
}

test('SPNEGO Kerberos: complete in one leg, AP-REP verified by the initiator, context in the table', async () => {
  await withPool({}, async (pool) => {
    const before = pool.stats();
    const { ini, session, step } = await handshake(pool, 'spnego');
    assert.equal(step.principal, realm.userPrincipal);
    assert.equal(step.mech, 'krb5');
    assert.equal(step.spnego, true);
    assert.equal(step.flags.mutual, true);
    assert.equal(step.flags.confidentiality, true);
    assert.ok(step.output.length > 0, 'mutual authentication produces an AP-REP');
    assert.ok(step.expiresAt !== null && step.expiresAt > Date.now());
    const s = pool.stats();
    assert.equal(s.established, before.established + 1);
    assert.equal(s.completed, before.completed + 1);
    session.close();
    assert.equal(pool.stats().established, before.established);
    assert.equal(pool.stats().released, before.released + 1);
    ini.close();
  });
});

test('raw Kerberos is accepted and reported as not SPNEGO', async () => {
  await withPool({}, async (pool) => {
    const { ini, session, step } = await handshake(pool, 'krb5');
    assert.equal(step.mech, 'krb5');
    assert.equal(step.spnego, false);
    session.close();
    ini.close();
  });
});

test('message protection both ways: wrap/unwrap, MIC, EncryptMessage layout, tamper and replay', async () => {
  await withPool({}, async (pool) => {
    const { ini, session } = await handshake(pool, 'spnego');
    const text = Buffer.from('attack at dawn');

    const wrapped = await session.wrap(text);
    assert.ok(!wrapped.includes(text), 'confidential wrap hides the text');
    const sealed = await ini.unwrap(wrapped);
    assert.deepEqual(sealed.message, text);
    assert.equal(sealed.conf, true);
    const integrityOnly = await session.wrap(text, { confidential: false });
    assert.ok(integrityOnly.includes(text), 'an integrity-only wrap token carries the text in clear');
    const clear = await ini.unwrap(integrityOnly);
    assert.deepEqual(clear.message, text);
    assert.equal(clear.conf, false);

    const fromClient = await ini.wrap(text);
    const un = await session.unwrap(fromClient);
    assert.deepEqual(un.message, text);
    assert.equal(un.confidential, true);
    await rejectsWithCode(session.unwrap(fromClient), 'ERR_GSS_REPLAY');

    const mic = await session.getMic(text);
    await ini.verifyMic(text, mic);
    await session.verifyMic(text, await ini.getMic(text));
    await rejectsWithCode(session.verifyMic(Buffer.from('attack at dusk'), await ini.getMic(text)), 'ERR_GSS_BAD_SIG');

    // A tampered message is refused; it also consumes a sequence number, so it comes last
    // among the client's messages (the next one would be reported as a gap).
    const tampered = Buffer.from(await ini.wrap(text));
    tampered.writeUInt8((tampered.at(-1) ?? 0) ^ 0x01, tampered.length - 1);
    await rejectsWithCode(session.unwrap(tampered), 'ERR_GSS_BAD_SIG');

    const { trailer, ciphertext } = await session.encryptMessage(Buffer.from('This is your server speaking'));
    assert.equal(
      trailer.length,
      60,
      'aes256-cts: 16-byte header + 16-byte filler header copy + 12-byte checksum, rotated',
    );
    assert.equal(ciphertext.length, 28);
    assert.equal(
      (await ini.unwrap(Buffer.concat([trailer, ciphertext]))).message.toString(),
      'This is your server speaking',
    );
    session.close();
    await rejectsWithCode(session.wrap(text), 'ERR_CONTEXT_NOT_FOUND');
    ini.close();
  });
});

test('NTLM: three legs, the context moves between worker threads, then protects messages', async () => {
  await withPool({ workers: 2, workerFile: FAULT_WORKER }, async (pool) => {
    const id = nextId++;
    const ini = Initiator.start(realm, { mech: 'ntlm' });
    const negotiate = await ini.step();
    const leg1 = await pool.accept(id, negotiate.token);
    assert.equal(leg1.status, 'continue');
    assert.equal(pool.stats().handshaking >= 1, true);
    // Occupy the worker that ran leg 1, so leg 2 must run on the other one.
    const stall = await pool.stallWorkerWhile(leg1.workerThreadId);
    const authenticate = await ini.step(leg1.output);
    const leg2 = await pool.accept(id, authenticate.token);
    stall.release();
    await stall.done;
    assert.notEqual(leg2.workerThreadId, leg1.workerThreadId, 'leg 2 ran on another worker thread');
    assert.equal(leg2.status, 'complete');
    if (leg2.status !== 'complete') return;
    assert.equal(leg2.mech, 'ntlmssp');
    assert.equal(leg2.principal, realm.ntlmUser);
    const session = new Session(pool, {
      connectionId: id,
      frontend: 'sspi',
      remoteAddress: undefined,
      remotePort: undefined,
      ...leg2,
    });
    const { trailer, ciphertext } = await session.encryptMessage(Buffer.from('hi NTLM'));
    assert.equal(trailer.length, 16, 'NTLM signature');
    assert.equal((await ini.unwrap(Buffer.concat([trailer, ciphertext]))).message.toString(), 'hi NTLM');
    assert.equal((await session.unwrap(await ini.wrap(Buffer.from('back')))).message.toString(), 'back');
    session.close();
    ini.close();
  });
});

test('NTLM through SPNEGO completes and is reported as SPNEGO', async () => {
  await withPool({}, async (pool) => {
    const { ini, session, step } = await handshake(pool, 'spnego-ntlm');
    assert.equal(step.mech, 'ntlmssp');
    assert.equal(step.spnego, true);
    session.close();
    ini.close();
  });
});

test('NTLM is refused when not enabled, raw and through SPNEGO, with no context left', async () => {
  const pool = await AuthPool.start({ credentials: { keytab: realm.keytab, ntlm: false }, workers: 1 });
  try {
    const raw = Initiator.start(realm, { mech: 'ntlm' });
    await rejectsWithCode(pool.accept(nextId++, (await raw.step()).token), 'ERR_GSS_MECH_DISABLED');
    raw.close();
    const neg = Initiator.start(realm, { mech: 'spnego-ntlm' });
    const err = await rejectsWithCode(pool.accept(nextId++, (await neg.step()).token), 'ERR_GSS_NO_KERBEROS_TOKEN');
    assert.ok((err as unknown as { output: Buffer }).output.length > 0, 'SPNEGO sends a reject token');
    neg.close();
    assert.equal(pool.stats().live, 0);
    // Kerberos still works on the same pool.
    const { ini, session } = await handshake(pool, 'spnego');
    session.close();
    ini.close();
  } finally {
    await pool.close();
  }
});

test('a replayed AP-REQ is rejected on another worker too', async () => {
  await withPool({ workers: 2, workerFile: FAULT_WORKER }, async (pool) => {
    const [token] = await firstTokens(realm, { mech: 'spnego' }, 1);
    assert.ok(token);
    const first = await pool.accept(nextId++, token);
    assert.equal(first.status, 'complete');
    const stall = await pool.stallWorkerWhile(first.workerThreadId);
    await rejectsWithCode(pool.accept(nextId++, token), 'ERR_GSS_REPLAY');
    stall.release();
    await stall.done;
  });
});

test('garbage and truncated tokens fail cleanly with a stable code', async () => {
  await withPool({}, async (pool) => {
    await rejectsWithCode(pool.accept(nextId++, Buffer.from('definitely not a token')), 'ERR_GSS_DEFECTIVE_TOKEN');
    const [token] = await firstTokens(realm, { mech: 'spnego' }, 1);
    assert.ok(token);
    const err = await pool.accept(nextId++, token.subarray(0, token.length - 40)).then(
      () => assert.fail('a truncated token was accepted'),
      (e: NegotiateError) => e,
    );
    assert.match(err.code, /^ERR_GSS_/);
    assert.equal(pool.stats().live, 0);
  });
});

test('a pinned acceptor refuses a ticket for another service principal', async () => {
  await withPool({ credentials: { keytab: realm.keytab, principal: 'HTTP/localhost@KRBTEST.COM' } }, async (pool) => {
    const [forHost] = await firstTokens(realm, { mech: 'spnego', service: 'host@localhost' }, 1);
    assert.ok(forHost);
    await rejectsWithCode(pool.accept(nextId++, forHost), 'ERR_GSS_WRONG_PRINCIPAL');
    const [forHttp] = await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 1);
    assert.ok(forHttp);
    const ok = await pool.accept(nextId++, forHttp);
    assert.equal(ok.status, 'complete');
  });
});

test('a second handshake on an established connection is refused', async () => {
  await withPool({}, async (pool) => {
    const { id, ini, session } = await handshake(pool, 'spnego');
    const [again] = await firstTokens(realm, { mech: 'spnego' }, 1);
    assert.ok(again);
    await rejectsWithCode(pool.accept(id, again), 'ERR_CONTEXT_ESTABLISHED');
    session.close();
    ini.close();
  });
});

test('the context table refuses new handshakes at its maximum and old ones go on', async () => {
  await withPool({ maxContexts: 2 }, async (pool) => {
    const inis = [0, 1, 2].map(() => Initiator.start(realm, { mech: 'ntlm' }));
    const ids = [nextId++, nextId++, nextId++];
    const leg1 = [];
    for (let i = 0; i < 2; i++) leg1.push(await pool.accept(ids[i] as number, (await inis[i]!.step()).token));
    await rejectsWithCode(pool.accept(ids[2] as number, (await inis[2]!.step()).token), 'ERR_CONTEXT_TABLE_FULL');
    assert.equal(pool.stats().refusedFull >= 1, true);
    for (let i = 0; i < 2; i++) {
      const done = await pool.accept(ids[i] as number, (await inis[i]!.step(leg1[i]!.output)).token);
      assert.equal(done.status, 'complete');
    }
    pool.release(ids[0] as number);
    pool.release(ids[1] as number);
    const fresh = Initiator.start(realm, { mech: 'ntlm' });
    const r = await pool.accept(nextId++, (await fresh.step()).token);
    assert.equal(r.status, 'continue', 'room again after release');
    for (const i of [...inis, fresh]) i.close();
  });
});

test('an abandoned handshake is swept after its TTL', async () => {
  await withPool({ handshakeTtlMs: 200 }, async (pool) => {
    const ini = Initiator.start(realm, { mech: 'ntlm' });
    const id = nextId++;
    const before = pool.stats();
    const leg1 = await pool.accept(id, (await ini.step()).token);
    assert.equal(leg1.status, 'continue');
    await waitUntil(
      () => pool.stats().expired !== before.expired,
      'the TTL sweep to expire the abandoned handshake',
      3000,
      50,
    );
    assert.equal(pool.stats().expired, before.expired + 1);
    assert.equal(pool.stats().live, before.live);
    // The client's late third leg lands on a fresh, empty context and fails.
    const late = await ini.step(leg1.output);
    await pool.accept(id, late.token).then(
      () => assert.fail('a leg after expiry must not complete'),
      (e: NegotiateError) => assert.match(e.code, /^ERR_GSS_/),
    );
    ini.close();
  });
});

// A full queue, a timeout, a thread ended mid-call and close: nativeHandoff.test.ts, on both hand-offs.

test('a refused task does not bring the process down when its timeout would have expired', async () => {
  // Regression: Piscina kept the abort timer of a task refused with a full queue; when it fired
  // an uncaught assertion ended the process (this test process, here).
  await withPool({ workers: 1, maxQueue: 1, taskTimeoutMs: 200, workerFile: FAULT_WORKER }, async (pool) => {
    const running = [pool.stallWorker(100), pool.stallWorker(10)];
    await rejectsWithCode(pool.accept(nextId++, Buffer.from('x')), 'ERR_POOL_QUEUE_FULL');
    await Promise.all(running);
    await sleep(400);
    const { ini, session } = await handshake(pool, 'krb5');
    session.close();
    ini.close();
  });
});

test('a task past its timeout fails, its worker is replaced, the pool goes on', async () => {
  await withPool({ workers: 1, taskTimeoutMs: 300, workerFile: FAULT_WORKER }, async (pool) => {
    await rejectsWithCode(pool.stallWorker(3000), 'ERR_POOL_TASK_TIMEOUT');
    const { ini, session, step } = await handshake(pool, 'spnego');
    assert.equal(step.principal, realm.userPrincipal);
    session.close();
    ini.close();
  });
});

test('the production worker has no fault injection: stall and terminate are refused, handshakes run', async () => {
  await withPool({ workers: 1 }, async (pool) => {
    const first = await handshake(pool, 'krb5');
    first.session.close();
    first.ini.close();
    const threadId = first.step.workerThreadId;
    await rejectsWithCode(pool.stallWorker(10), 'ERR_CONFIG');
    await rejectsWithCode(pool.stallWorkerWhile(threadId), 'ERR_CONFIG');
    await rejectsWithCode(pool.terminateWorker(threadId), 'ERR_CONFIG');
    const again = await handshake(pool, 'spnego');
    assert.equal(again.step.workerThreadId, threadId, 'the same thread still serves');
    again.session.close();
    again.ini.close();
  });
});

test('closing the pool frees every context, handshakes and sessions alike', async () => {
  const pool = await AuthPool.start({ credentials: { keytab: realm.keytab, ntlm: true }, workers: 1 });
  const base = pool.stats();
  const { ini } = await handshake(pool, 'spnego');
  const half = Initiator.start(realm, { mech: 'ntlm' });
  await pool.accept(nextId++, (await half.step()).token);
  assert.equal(pool.stats().live, base.live + 2);
  await pool.close();
  assert.equal(pool.stats().live, 0);
  ini.close();
  half.close();
  await rejectsWithCode(pool.accept(nextId++, Buffer.from('x')), 'ERR_POOL_CLOSED');
});

test('start refuses an empty keytab, a non-keytab file, and a pinned principal without a key', async () => {
  const dir = await mkdtemp(path.join(realm.dir, 'kt-'));
  const empty = path.join(dir, 'empty.keytab');
  // A keytab with the format version and no entries.
  await writeFile(empty, Buffer.from([0x05, 0x02]));
  const emptyErr = await rejectsWithCode(
    AuthPool.start({ credentials: { keytab: empty }, workers: 1 }),
    'ERR_NO_CREDENTIALS',
  );
  assert.match(emptyErr.message, /holds no keys/);
  const notKeytab = path.join(dir, 'not.keytab');
  await writeFile(notKeytab, 'hello\n');
  await rejectsWithCode(AuthPool.start({ credentials: { keytab: notKeytab }, workers: 1 }), 'ERR_KEYTAB_UNREADABLE');
  const pinned = await rejectsWithCode(
    AuthPool.start({ credentials: { keytab: realm.keytab, principal: 'HTTP/otherhost@KRBTEST.COM' }, workers: 1 }),
    'ERR_NO_CREDENTIALS',
  );
  assert.match(pinned.message, /HTTP\/localhost@KRBTEST\.COM/, 'the error lists what the keytab holds');
  // Without a realm the pinned name matches in any realm.
  const pool = await AuthPool.start({ credentials: { keytab: realm.keytab, principal: 'HTTP/localhost' }, workers: 1 });
  await pool.close();
});

test('start fails with a clear error when the keytab cannot be read', async () => {
  await rejectsWithCode(
    AuthPool.start({ credentials: { keytab: '/nonexistent/negotiate.keytab' }, workers: 1 }),
    'ERR_KEYTAB_UNREADABLE',
  );
});
