/**
 * The pool's hand-off queue (native/src/handoff/call_queue.cc; test/native/cc/call_queue_unit.cc):
 * admission, shares, results in any order and once, eviction, wake-ups and close, with the calls
 * of a batch sharing its bytes. Built with g++ under AddressSanitizer and
 * UndefinedBehaviorSanitizer (and threads: a parked worker woken by a submit).
 */
import { test } from 'node:test';
import { runCcUnit } from '../support/ccUnit.js';

test('hand-off queue: admission, shares, results, eviction, close (ASan + UBSan)', { timeout: 120_000 }, async () => {
  await runCcUnit('call_queue_unit', ['test/native/cc/call_queue_unit.cc', 'native/src/handoff/call_queue.cc'], 36);
});
