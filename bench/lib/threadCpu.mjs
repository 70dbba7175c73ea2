/**
 * CPU time of each thread of this process (utime + stime from /proc/self/task/<tid>/stat, in
 * µs), so a benchmark can say which thread a cost lands on: the main thread (tid = pid) or the
 * pool's workers. Linux only; an empty object elsewhere.
 */
import fs from 'node:fs';

/** @returns {Record<string, number>} µs of CPU per thread, keyed `<tid>:<name>` */
export function threadCpu() {
  /** @type {Record<string, number>} */
  const out = {};
  let tasks;
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  // Clock ticks are 100 Hz on Linux (sysconf(_SC_CLK_TCK)), so one tick is 10,000 µs.
  for (const t of tasks) {
    const s = fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
    out[`${t}:${name}`] = (Number(f[11]) + Number(f[12])) * 10_000;
  }
  return out;
}

/**
 * Per-thread CPU between two threadCpu() snapshots, per call: the main thread apart, the rest
 * by thread name, busiest first (threads that started in between count from zero).
 * @param {Record<string, number>} before
 * @param {Record<string, number>} after
 * @param {number} calls
 */
export function threadCpuPerCall(before, after, calls) {
  const main = `${process.pid}:`;
  /** @type {Record<string, number>} */
  const byName = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    const name = k.startsWith(main) ? 'main' : k.slice(k.indexOf(':') + 1);
    byName[name] = (byName[name] ?? 0) + d / calls;
  }
  return Object.fromEntries(
    Object.entries(byName)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, Number(v.toFixed(2))]),
  );
}
