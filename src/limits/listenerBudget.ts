/**
 * The connection cap of a server's listeners, fitted to the file-descriptor limit: every
 * listener's cap plus a reserve must fit RLIMIT_NOFILE (descriptors.ts), so one flooded listener
 * cannot take the descriptors of the others and the admin listener.
 */
import { ADMIN_MAX_CONNECTIONS } from '../admin/AdminListener.js';
import { DEFAULT_LIMITS } from '../config.js';
import { httpCapSlack } from '../http/ConnectionGate.js';
import type { ResolvedServerConfig } from '../options.js';
import { ensureDescriptorBudget, largestFittingCap, type DescriptorPlan } from './descriptors.js';

/**
 * Caps the operator chose (`maxConnectionsFromUser`) refuse to start when they cannot fit
 * (ensureDescriptorBudget throws); the default cap is lowered to fit, with a warning. Returns
 * the per-listener cap.
 */
export function fitListenerBudget(o: ResolvedServerConfig): number {
  const planFor = (cap: number): DescriptorPlan => {
    const listeners = [];
    if (o.sspi) listeners.push({ name: 'sspi', connections: cap });
    if (o.gssSample) listeners.push({ name: 'gss-sample', connections: cap });
    // The uWS cap is enforced by sampling: budget what one interval can add. node's is exact.
    if (o.http && o.httpEngine === 'node') listeners.push({ name: 'http', connections: cap });
    else if (o.http) listeners.push({ name: 'http (with WebSockets)', connections: cap + httpCapSlack(cap) });
    if (o.admin) listeners.push({ name: 'admin', connections: ADMIN_MAX_CONNECTIONS });
    return { listeners, workers: o.workers };
  };
  let cap = o.maxConnections ?? DEFAULT_LIMITS.maxConnections;
  if (o.maxConnectionsFromUser !== true) {
    const fit = largestFittingCap(planFor, cap);
    if (fit >= 1 && fit < cap) {
      o.logger.warn('--max-connections lowered to fit the file-descriptor limit', {
        maxConnections: fit,
        requested: cap,
      });
      cap = fit;
    }
  }
  ensureDescriptorBudget(planFor(cap));
  return cap;
}
