/**
 * The replay journal (`--replay-cache-journal`) under the in-memory replay cache, in C++ on a
 * clock the test moves (test/native/cc/replay_journal_unit.cc): tags survive a restart and
 * expire by their recorded time, the quota and capacity count them, and whatever could make a
 * restart forget one fails closed. ASan + UBSan, from the addon's own sources.
 */
import { test } from 'node:test';
import { REPLAY_CACHE_SOURCES, runCcUnit } from '../support/ccUnit.js';

test(
  'replay journal units: restart, expiry, quota, unsafe directories, foreign and torn files, write failure',
  { timeout: 120_000 },
  async () => {
    await runCcUnit('replay_journal_unit', ['test/native/cc/replay_journal_unit.cc', ...REPLAY_CACHE_SOURCES], 40);
  },
);
