/**
 * Piscina worker for constrained delegation (src/s4u/ConstrainedDelegation.ts): runs the addon's
 * blocking S4U2Self + S4U2Proxy exchange with the KDC off the main thread. Returns the addon's
 * result as is (failures are results, never thrown).
 */
import { loadNative, type NativeImpersonateOptions, type NativeImpersonateResult } from '../src/native.js';

const addon = loadNative();

export function impersonate(task: NativeImpersonateOptions): NativeImpersonateResult {
  return addon.impersonate(task);
}
