/**
 * The replay journal (`--replay-cache-journal`) under the in-memory replay cache, in C++ on a
 * clock the test moves (test/native/cc/replay_journal_unit.cc): tags survive a restart and
 * expire by their recorded time, the quota and capacity count them, and whatever could make a
 * restart forget one fails closed. ASan + UBSan, from the addon's own sources.
 */
import { test } from 'node:test';
import { runCcUnit } from '../support/ccUnit.js';

test(
  'replay journal units: restart, expiry, quota, unsafe directories, foreign and torn files, write failure',
  { timeout: 120_000 },
  async () => {
    await runCcUnit(
      'replay_journal_unit',
      [
        'test/native/cc/replay_journal_unit.cc',
        ...['replay_cache', 'replay_clock', 'replay_journal', 'tag_keys', 'tag_set', 'siphash'].map(
          (f) => `native/src/replay/${f}.cc`,
        ),
      ],
      40,
    );
  },
);
