/**
 * Piscina worker for Basic authentication (src/basic/PasswordVerifier.ts): runs the addon's
 * blocking AS exchange and its verification off the main thread. Returns the addon's result as
 * is (failures are results, never thrown). The password arrives as a transferred Buffer that
 * the addon zeroes.
 */
import { loadNative, type NativeCheckPasswordOptions, type NativeCheckPasswordResult } from '../src/native.js';

const addon = loadNative();

export function checkPassword(task: NativeCheckPasswordOptions): NativeCheckPasswordResult {
  return addon.checkPassword(task);
}
