/**
 * The PAC's text forms (native/src/pac/text.cc; test/native/cc/pac_text_unit.cc): SIDs as
 * strings (decimal and hex authorities, no sub-authorities, a RID appended to a domain's string
 * equal to the whole SID formatted, 20,000 random SIDs against a printf reference) and UTF-16LE
 * to UTF-8 (surrogate pairs, unpaired surrogates as U+FFFD). Built with g++ under
 * AddressSanitizer and UndefinedBehaviorSanitizer.
 */
import { test } from 'node:test';
import { runCcUnit } from '../support/ccUnit.js';

test('PAC text: SID strings and UTF-16 names (ASan + UBSan)', { timeout: 120_000 }, async () => {
  await runCcUnit('pac_text_unit', ['test/native/cc/pac_text_unit.cc', 'native/src/pac/text.cc'], 19);
});
