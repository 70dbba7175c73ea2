import { test } from 'node:test';
import assert from 'node:assert/strict';

import { settleWithin } from '../../src/lifecycle/drain.js';

const later = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('waits for work added to a live set while it waits (a request on a kept-alive connection)', async () => {
  const inFlight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  let lateDone = false;
  track(later(20));
  setTimeout(() => track(later(60).then(() => (lateDone = true))), 10);
  await settleWithin(inFlight, 2000);
  assert.equal(lateDone, true, 'the request that arrived during the wait finished before close');
  assert.equal(inFlight.size, 0);
});

test('gives up after graceMs with work still pending, and does not keep the process waiting', async () => {
  const started = Date.now();
  const never = new Promise<void>(() => undefined);
  await settleWithin(new Set([never]), 50);
  const took = Date.now() - started;
  assert.ok(took >= 45 && took < 1000, `returned after ${took} ms`);
});

test('returns at once when nothing is in flight; a rejected promise counts as settled', async () => {
  const started = Date.now();
  await settleWithin([], 5000);
  await settleWithin([Promise.reject(new Error('failed request'))], 5000);
  assert.ok(Date.now() - started < 500);
});

test('a collection that keeps its settled promises (an array) ends the wait once they settle', async () => {
  const started = Date.now();
  const work = [later(20), later(30)];
  await settleWithin(work, 5000);
  const took = Date.now() - started;
  assert.ok(took >= 25 && took < 1000, `returned after ${took} ms`);
});
