/**
 * The in-memory replay cache's C++ parts on a clock the test moves (test/native/cc/
 * replay_cache_unit.cc): expiry after the window on both clocks, a wall clock stepped back by an
 * hour or jumping a day ahead, capacity, the per-principal quota across generations, the tag
 * set through growth and SipHash against its reference vectors. Built here with g++ under
 * AddressSanitizer and UndefinedBehaviorSanitizer, from the same sources as the addon.
 */
import { test } from 'node:test';
import { REPLAY_CACHE_SOURCES, runCcUnit } from '../support/ccUnit.js';

test(
  'replay cache units: clocks, expiry, capacity, quota, tag set, SipHash (ASan + UBSan)',
  { timeout: 120_000 },
  async () => {
    await runCcUnit('replay_cache_unit', ['test/native/cc/replay_cache_unit.cc', ...REPLAY_CACHE_SOURCES], 39);
  },
);
