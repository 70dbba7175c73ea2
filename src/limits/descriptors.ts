/**
 * The process's file-descriptor budget (RLIMIT_NOFILE). Every listener's connection cap must fit
 * in it together with what the process holds anyway (worker threads, logs, keytab reads), or
 * one flooded listener takes the descriptors the others and the admin listener need: uWS then
 * fails to accept silently and libuv's TCP servers accept and drop. Linux only (/proc); on
 * other systems the check is skipped.
 *
 * Node has no setrlimit; Node itself raises the soft limit to the hard one at start, so the
 * raise below (prlimit(1) from util-linux on our own pid) matters only when something lowered
 * it afterwards or Node could not.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** RLIMIT_NOFILE; Infinity for "unlimited". */
export interface DescriptorLimit {
  soft: number;
  hard: number;
}

/** Reads this process's RLIMIT_NOFILE from /proc/self/limits; undefined where there is no /proc. */
export function readDescriptorLimit(): DescriptorLimit | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  const value = (s: string | undefined): number => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: value(m[1]), hard: value(m[2]) };
}

/** Descriptors this process has open now; undefined where there is no /proc. */
export function openDescriptorCount(): number | undefined {
  try {
    // The listing's own directory descriptor is in it.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

/** Raises the soft limit to `to` (≤ the hard limit) with prlimit(1); returns the limit after. */
function raiseSoftLimit(to: number): DescriptorLimit | undefined {
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${to}:`], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // No prlimit, or not permitted: the check below reports the limit as it is.
  }
  return readDescriptorLimit();
}

/** One listener's share of the budget. */
export interface ListenerBudget {
  name: string;
  /** Most simultaneous connections it may hold. */
  connections: number;
}

/** Descriptors kept beyond the listeners' caps, per worker thread (its event loop, pipes, the keytab it reads). */
export const RESERVE_PER_WORKER = 8;
/**
 * Descriptors kept beyond the listeners' caps for the process itself (logs, KDC and keytab reads, signals), on top of
 * what is open at start.
 */
export const RESERVE_BASE = 64;

export interface DescriptorPlan {
  listeners: ListenerBudget[];
  workers: number;
}

/** What a plan needs: the caps, what is open now, and the reserve. */
export function descriptorsNeeded(plan: DescriptorPlan, openNow = openDescriptorCount() ?? 0): number {
  return (
    plan.listeners.reduce((sum, l) => sum + l.connections, 0) +
    openNow +
    RESERVE_BASE +
    RESERVE_PER_WORKER * plan.workers
  );
}

/**
 * Makes sure the plan fits RLIMIT_NOFILE, raising the soft limit toward the hard one when that
 * is enough. Returns the limit in force (undefined without /proc). Throws ConfigError
 * (ERR_CONFIG) naming every cap, the reserve and the limit when the caps cannot fit.
 */
export function ensureDescriptorBudget(plan: DescriptorPlan): DescriptorLimit | undefined {
  let limit = readDescriptorLimit();
  if (limit === undefined) return undefined;
  const needed = descriptorsNeeded(plan);
  if (needed <= limit.soft) return limit;
  if (needed <= limit.hard) limit = raiseSoftLimit(needed) ?? limit;
  if (needed <= limit.soft) return limit;
  const caps = plan.listeners.map((l) => `${l.name} ${l.connections}`).join(' + ');
  const reserve = needed - plan.listeners.reduce((s, l) => s + l.connections, 0);
  throw new ConfigError(
    'ERR_CONFIG',
    `the connection caps do not fit the file-descriptor limit: ${caps} connections plus a reserve of ${reserve} ` +
      `(descriptors open now, ${RESERVE_BASE} for the process, ${RESERVE_PER_WORKER} per worker) need ${needed} ` +
      `descriptors, and RLIMIT_NOFILE is ${limit.soft} ` +
      `(hard limit ${limit.hard === Infinity ? 'unlimited' : limit.hard}). ` +
      'Lower --max-connections, or raise the limit ' +
      '(ulimit -n, LimitNOFILE= in a systemd unit, --ulimit nofile= in docker)',
  );
}

/**
 * The largest cap in [0, max] whose plan fits the hard limit (so that ensureDescriptorBudget can
 * raise the soft limit to it); `max` where there is no /proc.
 */
export function largestFittingCap(planFor: (cap: number) => DescriptorPlan, max: number): number {
  const limit = readDescriptorLimit();
  if (limit === undefined) return max;
  const openNow = openDescriptorCount() ?? 0;
  const fits = (cap: number): boolean => descriptorsNeeded(planFor(cap), openNow) <= limit.hard;
  if (fits(max)) return max;
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
