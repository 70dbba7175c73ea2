/**
 * The batching rule of the worker pool (src/pool/BatchDispatcher.ts), with a controllable
 * stand-in for the workers: which calls travel together, the bound, failures and shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchDispatcher } from '../../src/pool/BatchDispatcher.js';
import { NegotiateError } from '../../src/errors.js';

/** Workers whose batches finish only when the test says so. */
function manualWorkers() {
  const sent: Array<{ calls: number[]; finish: () => void; fail: (e: unknown) => void }> = [];
  const send = (calls: number[]): Promise<number[]> =>
    new Promise((resolve, reject) => {
      sent.push({ calls, finish: () => resolve(calls.map((c) => c * 10)), fail: reject });
    });
  return { sent, send };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('with a free worker a call leaves at once, alone; calls made while workers are busy travel together', async () => {
  const w = manualWorkers();
  const d = new BatchDispatcher<number, number>(2, 100, w.send);
  const p1 = d.submit(1);
  assert.deepEqual(
    w.sent.map((s) => s.calls),
    [[1]],
    'no waiting for company when a worker is free',
  );
  const p2 = d.submit(2);
  assert.deepEqual(
    w.sent.map((s) => s.calls),
    [[1], [2]],
  );
  const rest = [3, 4, 5, 6, 7].map((n) => d.submit(n));
  assert.equal(w.sent.length, 2, 'both workers busy: nothing more is sent');
  assert.equal(d.queued, 5);
  w.sent[0]?.finish();
  assert.equal(await p1, 10);
  await tick();
  assert.deepEqual(w.sent[2]?.calls, [3, 4, 5], 'the freed worker takes its share of what waited, in one batch');
  w.sent[1]?.finish();
  assert.equal(await p2, 20);
  await tick();
  assert.deepEqual(w.sent[3]?.calls, [6], 'the other worker its share of the rest');
  w.sent[2]?.finish();
  await tick();
  assert.deepEqual(w.sent[4]?.calls, [7]);
  w.sent[3]?.finish();
  w.sent[4]?.finish();
  assert.deepEqual(await Promise.all(rest), [30, 40, 50, 60, 70], 'each call gets its own result, in order');
});

test('waiting calls are shared between workers as they free up', async () => {
  const w = manualWorkers();
  const d = new BatchDispatcher<number, number>(2, 100, w.send);
  const first = [d.submit(1), d.submit(2)];
  const waiting = [3, 4, 5, 6, 7].map((n) => d.submit(n));
  w.sent[0]?.finish();
  w.sent[1]?.finish();
  await Promise.all(first);
  await tick();
  assert.deepEqual(
    w.sent.slice(2).map((s) => s.calls),
    [[3, 4, 5], [6]],
    'half (rounded up) of what waits per freed worker',
  );
  w.sent[2]?.finish();
  await tick();
  assert.deepEqual(w.sent[4]?.calls, [7]);
  for (const s of w.sent.slice(3)) s.finish();
  await Promise.all(waiting);
});

test('past the limit (waiting + running) calls fail at once with ERR_POOL_QUEUE_FULL; capacity returns', async () => {
  const w = manualWorkers();
  const d = new BatchDispatcher<number, number>(1, 3, w.send);
  const ok = [d.submit(1), d.submit(2), d.submit(3)];
  await assert.rejects(d.submit(4), (e: unknown) => e instanceof NegotiateError && e.code === 'ERR_POOL_QUEUE_FULL');
  w.sent[0]?.finish();
  await ok[0];
  assert.ok(d.submit(5) instanceof Promise);
  await tick();
  for (const s of w.sent.slice(1)) s.finish();
  await Promise.all(ok);
});

test('a failed batch fails each of its calls, and the next batch still goes out', async () => {
  const w = manualWorkers();
  const d = new BatchDispatcher<number, number>(1, 100, w.send);
  const a = d.submit(1);
  const b = [d.submit(2), d.submit(3)];
  const boom = new Error('worker died');
  w.sent[0]?.fail(boom);
  await assert.rejects(a, (e) => e === boom);
  await tick();
  assert.deepEqual(w.sent[1]?.calls, [2, 3]);
  w.sent[1]?.fail(boom);
  for (const p of b) await assert.rejects(p, (e) => e === boom);
  const c = d.submit(4);
  w.sent[2]?.finish();
  assert.equal(await c, 40);
});

test('rejectWaiting fails the calls not yet sent and frees their places', async () => {
  const w = manualWorkers();
  const d = new BatchDispatcher<number, number>(1, 2, w.send);
  const running = d.submit(1);
  const waiting = d.submit(2);
  const closed = new Error('closed');
  d.rejectWaiting(closed);
  await assert.rejects(waiting, (e) => e === closed);
  assert.equal(d.queued, 0);
  const again = d.submit(3); // its place was freed
  w.sent[0]?.finish();
  assert.equal(await running, 10);
  await tick();
  w.sent[1]?.finish();
  assert.equal(await again, 30);
});
