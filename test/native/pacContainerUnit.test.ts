/**
 * The whole-PAC header reader (native/src/pac/pac_container.cc; test/native/cc/
 * pac_container_unit.cc): the logon, client and UPN DNS buffers found wherever a KDC put them;
 * truncated headers and lists, a version other than 0, buffers outside the PAC, over its header,
 * misaligned or twice refused; every prefix and 20,000 random mutations of a good PAC read
 * without a byte outside it. Built with g++ under AddressSanitizer and UndefinedBehaviorSanitizer.
 */
import { test } from 'node:test';
import { runCcUnit } from '../support/ccUnit.js';

test(
  'PAC header: buffers found, malformed headers refused, nothing read outside (ASan + UBSan)',
  { timeout: 120_000 },
  async () => {
    await runCcUnit(
      'pac_container_unit',
      ['test/native/cc/pac_container_unit.cc', 'native/src/pac/pac_container.cc'],
      26,
    );
  },
);
