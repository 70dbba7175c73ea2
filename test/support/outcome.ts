/**
 * What a pool call came to, as a string a test can compare: 'accepted', or the stable code of
 * the NegotiateError it failed with (anything else fails the test).
 */
import assert from 'node:assert/strict';
import { NegotiateError } from '../../src/errors.js';

export async function failureCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof NegotiateError, `expected a NegotiateError, got ${String(err)}`);
    return err.code;
  }
  return 'accepted';
}
