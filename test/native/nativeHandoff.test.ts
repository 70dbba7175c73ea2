/**
 * The pool's two hand-offs (src/pool/callDispatcher.ts): 'native' (the default, NativeHandoff:
 * workers parked on the addon's queue) and 'piscina' (one Piscina task per batch). Both keep one
 * contract, tested on each: every leg and message protection, the queue bound, the timeout, a
 * thread's death, a thread held while the others serve, close.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthPool, type AuthPoolOptions } from '../../src/pool/AuthPool.js';
import { HANDOFF_KINDS } from '../../src/pool/callDispatcher.js';
import { Session } from '../../src/session.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { NegotiateError } from '../../src/errors.js';
import { resolveServerOptions } from '../../src/options.js';
import { startTestRealm } from '../support/realm.js';
import { FAULT_WORKER } from '../support/faultWorker.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';
import { Initiator } from '../support/initiator.js';

let realm: ThrowawayRealm;
let nextId = 2_000_000;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
});
after(async () => {
  await realm?.destroy();
});

async function withPool(opts: Partial<AuthPoolOptions>, fn: (pool: AuthPool) => Promise<void>): Promise<void> {
  const pool = await AuthPool.start({
    credentials: { keytab: realm.keytab, ntlm: true },
    workers: 2,
    handoff: 'native',
    ...opts,
  });
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

async function handshake(pool: AuthPool, mech: 'spnego' | 'krb5' | 'ntlm') {
  const id = nextId++;
  const ini = Initiator.start(realm, { mech });
  let out = await ini.step();
  for (let legs = 0; legs < 10; legs++) {
    const step = await pool.accept(id, out.token);
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
      return { ini, session, step };
    }
    out = await ini.step(step.output);
  }
  throw new Error('handshake did not complete in 10 legs');
}

for (const handoff of HANDOFF_KINDS) {
  test(`[${handoff}] Kerberos and three-leg NTLM complete, and the sessions protect messages both ways`, async () => {
    await withPool({ handoff }, async (pool) => {
      const before = pool.stats();
      const many = await Promise.all(Array.from({ length: 8 }, () => handshake(pool, 'spnego')));
      for (const h of many) assert.equal(h.step.principal, realm.userPrincipal);
      const ntlm = await handshake(pool, 'ntlm');
      assert.equal(ntlm.step.mech, 'ntlmssp');
      const k = many[0];
      assert.ok(k);
      const sealed = await k.session.wrap(Buffer.from('hello'), { confidential: true });
      assert.equal((await k.ini.unwrap(sealed)).message.toString(), 'hello');
      const back = await k.session.unwrap(await k.ini.wrap(Buffer.from('world')));
      assert.equal(back.message.toString(), 'world');
      for (const h of [...many, ntlm]) {
        h.session.close();
        h.ini.close();
      }
      assert.equal(pool.stats().completed, before.completed + 9);
      assert.equal(pool.stats().established, before.established);
    });
  });

  test(`[${handoff}] batches larger than a worker's inbox (64 KiB) arrive whole, each result its call's`, async () => {
    await withPool({ handoff }, async (pool) => {
      const sessions = await Promise.all(Array.from({ length: 8 }, () => handshake(pool, 'spnego')));
      // Twice: the first batches do not fit the inbox and come in arrays of their own, after
      // which the inbox has grown to hold them.
      for (const round of [1, 2]) {
        const messages = sessions.map((_, i) => Buffer.alloc(40_000, (round * 16 + i) & 0xff));
        // One turn: all eight calls go to the queue together, ~320 KB of frames.
        const sealed = await Promise.all(sessions.map((h, i) => h.session.wrap(messages[i] ?? Buffer.alloc(0))));
        for (const [i, h] of sessions.entries()) {
          const opened = await h.ini.unwrap(sealed[i] ?? Buffer.alloc(0));
          assert.ok(
            opened.message.equals(messages[i] ?? Buffer.alloc(0)),
            `round ${round}: session ${i} got its own message`,
          );
        }
      }
      for (const h of sessions) {
        h.session.close();
        h.ini.close();
      }
    });
  });

  test(`[${handoff}] a full queue fails fast with ERR_POOL_QUEUE_FULL and recovers at once`, async () => {
    await withPool({ handoff, workers: 1, maxQueue: 2, workerFile: FAULT_WORKER }, async (pool) => {
      const running = [pool.stallWorker(400), pool.stallWorker(10), pool.stallWorker(10)];
      const t0 = Date.now();
      await rejectsWithCode(pool.accept(nextId++, Buffer.from('x')), 'ERR_POOL_QUEUE_FULL');
      assert.ok(Date.now() - t0 < 200, 'refused without waiting');
      await Promise.all(running);
      const { ini, session } = await handshake(pool, 'spnego');
      session.close();
      ini.close();
    });
  });

  test(`[${handoff}] a call past its timeout fails, the thread running it is replaced, the pool goes on`, async () => {
    await withPool({ handoff, workers: 1, taskTimeoutMs: 300, workerFile: FAULT_WORKER }, async (pool) => {
      const stalled = await pool.stallWorker(1);
      const t0 = Date.now();
      await rejectsWithCode(pool.stallWorker(3000), 'ERR_POOL_TASK_TIMEOUT');
      assert.ok(Date.now() - t0 < 2000, 'the timeout fires near taskTimeoutMs');
      const { ini, session, step } = await handshake(pool, 'spnego');
      assert.equal(step.principal, realm.userPrincipal);
      assert.notEqual(step.workerThreadId, stalled, 'a new thread serves');
      session.close();
      ini.close();
    });
  });

  test(`[${handoff}] a thread ended mid-call: its call fails (ERR_POOL_WORKER_DIED), the pool goes on`, async () => {
    await withPool({ handoff, workers: 1, workerFile: FAULT_WORKER }, async (pool) => {
      const threadId = await pool.stallWorker(1);
      const victim = pool.stallWorker(1500);
      await sleep(100);
      assert.equal(await pool.terminateWorker(threadId), true);
      await rejectsWithCode(victim, 'ERR_POOL_WORKER_DIED');
      const { ini, session, step } = await handshake(pool, 'krb5');
      assert.notEqual(step.workerThreadId, threadId);
      session.close();
      ini.close();
    });
  });

  test(`[${handoff}] a thread held by stallWorkerWhile serves nothing until released; the other serves`, async () => {
    await withPool({ handoff, workers: 2, workerFile: FAULT_WORKER }, async (pool) => {
      const first = await handshake(pool, 'krb5');
      const held = await pool.stallWorkerWhile(first.step.workerThreadId);
      try {
        for (let i = 0; i < 4; i++) {
          const h = await handshake(pool, 'spnego');
          assert.notEqual(h.step.workerThreadId, first.step.workerThreadId, 'the held thread took a call');
          h.session.close();
          h.ini.close();
        }
      } finally {
        held.release();
      }
      await held.done;
      first.session.close();
      first.ini.close();
    });
  });

  test(`[${handoff}] calls do not wait behind a worker held in a long call: the other takes them at once`, async () => {
    // A submit wakes a parked worker: a queue that left calls to the busy one (to save the
    // wake-up) would have them wait for the parked worker's next look at the queue (100 ms,
    // workers/serve.ts). Each call comes after the other worker has parked again; the median
    // tells the two apart.
    await withPool({ handoff, workers: 2, workerFile: FAULT_WORKER }, async (pool) => {
      const heldThread = await pool.stallWorker(0);
      const held = await pool.stallWorkerWhile(heldThread);
      const waits: number[] = [];
      try {
        for (let i = 0; i < 9; i++) {
          await sleep(5);
          const t0 = performance.now();
          const thread = await pool.stallWorker(0);
          waits.push(performance.now() - t0);
          assert.notEqual(thread, heldThread, 'the held thread took a call');
        }
      } finally {
        held.release();
      }
      await held.done;
      const median = [...waits].sort((a, b) => a - b)[4] ?? Infinity;
      assert.ok(median < 50, `calls waited ${waits.map((w) => w.toFixed(1)).join(', ')} ms behind the held worker`);
    });
  });

  // native: a running call finishes; piscina: Piscina's destroy ends it (ERR_POOL_CLOSED).
  const closeEndsRunning = handoff === 'piscina';
  const onRunning = closeEndsRunning ? 'fails a running call' : 'lets a running call finish';
  test(`[${handoff}] close ${onRunning}, fails waiting ones, frees every context`, async () => {
    const pool = await AuthPool.start({
      credentials: { keytab: realm.keytab },
      workers: 1,
      handoff,
      workerFile: FAULT_WORKER,
    });
    const { ini } = await handshake(pool, 'spnego');
    const running = pool.stallWorker(300).then(
      (threadId) => threadId,
      (err: unknown) => err,
    );
    // Taken by the worker (no longer queued) before the next one queues behind it.
    while (pool.stats().queued > 0) await sleep(5);
    await sleep(20);
    const waiting = rejectsWithCode(pool.stallWorker(10), 'ERR_POOL_CLOSED');
    await pool.close();
    const ran = await running;
    if (closeEndsRunning) {
      assert.ok(ran instanceof NegotiateError, `the running call failed: ${String(ran)}`);
      assert.equal(ran.code, 'ERR_POOL_CLOSED');
    } else assert.equal(typeof ran, 'number', `the running call finished: ${String(ran)}`);
    await waiting;
    assert.equal(pool.stats().live, 0);
    ini.close();
    await rejectsWithCode(pool.accept(nextId++, Buffer.from('x')), 'ERR_POOL_CLOSED');
  });
}

test('[native] idle workers give their threads back and the next call brings them back', async () => {
  await withPool({ workers: 1 }, async (pool) => {
    const first = await handshake(pool, 'krb5');
    first.session.close();
    first.ini.close();
    await sleep(1500);
    assert.equal(pool.stats().utilization >= 0, true);
    const again = await handshake(pool, 'spnego');
    assert.equal(again.step.workerThreadId, first.step.workerThreadId, 'the same Piscina thread');
    again.session.close();
    again.ini.close();
  });
});

test('[native] utilization counts the time calls run, not the time serve tasks stay parked', async () => {
  await withPool({ workers: 1, workerFile: FAULT_WORKER }, async (pool) => {
    const h = await handshake(pool, 'krb5');
    h.session.close();
    h.ini.close();
    await sleep(400);
    const parked = pool.stats().utilization;
    assert.ok(parked < 0.3, `a worker parked for 400 ms is not busy: utilization ${parked}`);
    await pool.stallWorker(600);
    const busy = pool.stats().utilization;
    assert.ok(busy > parked + 0.2, `600 ms of a running call count: ${parked} then ${busy}`);
    assert.ok(busy <= 1);
  });
});

test('poolHandoff is checked: piscina or native', () => {
  assert.equal(resolveServerOptions({ http: { port: 0 } }).poolHandoff, 'native');
  assert.equal(resolveServerOptions({ http: { port: 0 }, poolHandoff: 'piscina' }).poolHandoff, 'piscina');
  assert.equal(resolveServerOptions({ http: { port: 0 }, poolHandoff: 'native' }).poolHandoff, 'native');
  assert.throws(
    () => resolveServerOptions({ http: { port: 0 }, poolHandoff: 'fast' as 'native' }),
    (err: unknown) => err instanceof NegotiateError && err.code === 'ERR_CONFIG',
  );
});
