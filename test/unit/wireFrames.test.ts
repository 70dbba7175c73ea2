/** workers/wireFrames.ts: a batch of calls or results as one buffer of frames. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readWireBatch, WireBatchWriter } from '../../workers/wireFrames.js';

test('a batch round-trips in order with its seqs; byte arrays come back; the writer grows and restarts', () => {
  const w = new WireBatchWriter(16);
  assert.equal(w.empty, true);
  const token = new Uint8Array(5000).fill(7);
  w.append(1, { op: 'accept', id: 3, token });
  w.append(0xffff_ffff, { n: 2, s: 'é' });
  w.append(2 ** 32 + 5, { none: null });
  assert.equal(w.empty, false);
  const frames = Uint8Array.from(w.frames());
  assert.equal(w.empty, true);
  const got: Array<[number, unknown]> = [];
  readWireBatch(frames, (seq, value) => got.push([seq, value]));
  assert.equal(got.length, 3);
  assert.equal(got[0]?.[0], 1);
  const first = got[0]?.[1];
  assert.ok(first !== null && typeof first === 'object');
  const bytes: unknown = Reflect.get(first, 'token');
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(bytes.byteLength, 5000);
  assert.ok(bytes.every((b) => b === 7));
  assert.deepEqual(got[1], [0xffff_ffff, { n: 2, s: 'é' }]);
  // Seqs are 32 bits on the queue: the pool wraps them before they get there.
  assert.deepEqual(got[2], [5, { none: null }]);
  w.append(9, { again: true });
  const again: unknown[] = [];
  readWireBatch(w.frames(), (seq, value) => again.push(seq, value));
  assert.deepEqual(again, [9, { again: true }]);
});

test('an empty batch has no frames', () => {
  let calls = 0;
  readWireBatch(new WireBatchWriter().frames(), () => calls++);
  assert.equal(calls, 0);
});
