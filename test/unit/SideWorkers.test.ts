/**
 * SideWorkers (src/pool/SideWorkers.ts) on real threads running a tiny worker
 * (test/fixtures/sideWorker.ts): tasks answer, and each way a task fails is a typed PoolError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import type * as SideWorker from '../fixtures/sideWorker.js';
import { SideWorkers, type SideWorkersSizes } from '../../src/pool/SideWorkers.js';

const filename = fileURLToPath(new URL('../fixtures/sideWorker.js', import.meta.url));

function start(sizes: SideWorkersSizes = {}): SideWorkers<typeof SideWorker> {
  return new SideWorkers<typeof SideWorker>({ filename, label: 'side test', ...sizes });
}

test('runs a task on a thread and resolves with its answer', async () => {
  const workers = start();
  try {
    assert.deepEqual(await workers.run('echo', { value: 42 }), { value: 42 });
  } finally {
    await workers.close();
  }
});

test('a task longer than taskTimeoutMs rejects with ERR_POOL_TASK_TIMEOUT, and the next task runs', async () => {
  // Long enough for the replacement thread to start under load: the timeout counts from run().
  const workers = start({ taskTimeoutMs: 1500 });
  try {
    const t0 = Date.now();
    await assert.rejects(workers.run('block', { ms: 10_000 }), { name: 'PoolError', code: 'ERR_POOL_TASK_TIMEOUT' });
    assert.ok(Date.now() - t0 < 6000, `timed out after ${Date.now() - t0} ms`);
    // The timed-out thread was replaced.
    assert.deepEqual(await workers.run('echo', { value: 1 }), { value: 1 });
  } finally {
    await workers.close();
  }
});

test('a full queue fails fast with ERR_POOL_QUEUE_FULL', async () => {
  const workers = start({ threads: 1, maxQueue: 1 });
  try {
    await workers.run('echo', { value: 0 }); // the thread is up and idle
    const running = workers.run('block', { ms: 1500 });
    const queued = workers.run('echo', { value: 2 });
    const t0 = Date.now();
    await assert.rejects(workers.run('echo', { value: 3 }), { name: 'PoolError', code: 'ERR_POOL_QUEUE_FULL' });
    assert.ok(Date.now() - t0 < 500, `refused after ${Date.now() - t0} ms`);
    assert.equal(await running, 1500);
    assert.deepEqual(await queued, { value: 2 });
  } finally {
    await workers.close();
  }
});

test('after close, and for a task running at close, ERR_POOL_CLOSED naming the pool', async () => {
  const workers = start();
  await workers.run('echo', { value: 0 });
  const running = workers.run('block', { ms: 5000 });
  const settled = running.then(
    () => undefined,
    (err: unknown) => err,
  );
  await workers.close();
  assert.equal(workers.closed, true);
  const err = await settled;
  assert.ok(err instanceof Error);
  assert.equal(Reflect.get(err, 'code'), 'ERR_POOL_CLOSED');
  await assert.rejects(workers.run('echo', { value: 1 }), {
    name: 'PoolError',
    code: 'ERR_POOL_CLOSED',
    message: 'side test is closed',
  });
  await workers.close(); // idempotent
});

test('sizes must be positive integers (ERR_CONFIG naming the pool and the option)', () => {
  assert.throws(() => start({ threads: 0 }), {
    code: 'ERR_CONFIG',
    message: 'side test: threads must be a positive integer',
  });
  assert.throws(() => start({ maxQueue: 1.5 }), { code: 'ERR_CONFIG', message: /maxQueue/ });
  assert.throws(() => SideWorkers.checkSizes('x', { taskTimeoutMs: -1 }), {
    code: 'ERR_CONFIG',
    message: /x: taskTimeoutMs/,
  });
});
