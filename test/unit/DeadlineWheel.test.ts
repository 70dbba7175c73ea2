/** DeadlineWheel: one interval for every connection's deadlines; never early, about a tick late at most. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import { DeadlineWheel, type DeadlineEntry } from '../../src/acceptors/DeadlineWheel.js';

/** The wheel's interval is unref'd (sockets keep a server alive): hold the test's loop open. */
const keepAlive = setInterval(() => undefined, 1000);
after(() => clearInterval(keepAlive));

function entry(onDeadline: (now: number) => number | undefined): DeadlineEntry {
  return { deadlineSlot: -1, onDeadline };
}

test('an entry is called once its time has passed, within about a tick, then leaves the wheel', async () => {
  const wheel = new DeadlineWheel(20);
  const start = Date.now();
  const at = start + 150;
  const calledAt = await new Promise<number>((resolve) => {
    wheel.add(
      entry((now) => {
        resolve(now);
        return undefined;
      }),
      at,
    );
  });
  assert.ok(calledAt >= at, `called at +${calledAt - start} ms, asked for +150`);
  assert.ok(
    calledAt < at + 20 + 150,
    `called at +${calledAt - start} ms: more than a tick late (load allowance 150 ms)`,
  );
  assert.equal(wheel.size, 0);
});

test('a removed entry is never called; an entry that asks again is called again at its new time', async () => {
  const wheel = new DeadlineWheel(10);
  const start = Date.now();
  let removedCalls = 0;
  const removed = entry(() => {
    removedCalls += 1;
    return undefined;
  });
  wheel.add(removed, start + 30);
  const calls: number[] = [];
  const done = new Promise<void>((resolve) => {
    wheel.add(
      entry((now) => {
        calls.push(now - start);
        if (calls.length < 3) return now + 40;
        resolve();
        return undefined;
      }),
      start + 30,
    );
  });
  wheel.remove(removed);
  wheel.remove(removed); // twice is harmless
  await done;
  assert.equal(removedCalls, 0);
  assert.equal(calls.length, 3);
  assert.ok(
    calls[0]! >= 30 && calls[1]! >= calls[0]! + 40 && calls[2]! >= calls[1]! + 40,
    `called at ${calls.join(', ')} ms`,
  );
  assert.equal(wheel.size, 0);
});

test('a time already past is called at the next walk; add() of an entry already in moves it', async () => {
  const wheel = new DeadlineWheel(10);
  let calls = 0;
  const e = entry(() => {
    calls += 1;
    return undefined;
  });
  wheel.add(e, Date.now() + 60_000);
  wheel.add(e, Date.now() - 1000);
  assert.equal(wheel.size, 1);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls, 1);
  assert.equal(wheel.size, 0);
});

test('the tick is a tenth of the shortest deadline, within 10..100 ms', () => {
  assert.equal(DeadlineWheel.tickFor(10_000), 100);
  assert.equal(DeadlineWheel.tickFor(300), 30);
  assert.equal(DeadlineWheel.tickFor(50), 10);
  assert.throws(() => new DeadlineWheel(0), RangeError);
});
