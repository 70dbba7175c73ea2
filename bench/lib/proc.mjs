/**
 * CPU time and memory of process trees, from /proc: servers are measured from outside, the
 * same way for every peer (Apache's children included).
 */
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // Linux USER_HZ; sysconf(_SC_CLK_TCK) is 100 on every kernel we target

/** @param {number} pid */
function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** Every live descendant of `root`, root included. @param {number} root */
export function processTree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (!s) continue;
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid).push(Number(name));
  }
  const out = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = /** @type {number} */ (todo.pop());
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU seconds (user + system) used so far by these processes. @param {number[]} pids */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const s = stat(pid);
    if (s) ticks += s.utime + s.stime;
  }
  return ticks / CLK_TCK;
}

/** Resident memory in MiB, summed. @param {number[]} pids */
export function rssMiB(pids) {
  let kib = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kib += Number(m[1]);
    } catch {
      // gone
    }
  }
  return kib / 1024;
}

/** CPU seconds (user + system) used so far by one thread (`tid` = `pid` for the main thread). */
export function threadCpuSeconds(/** @type {number} */ pid, /** @type {number} */ tid) {
  try {
    const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}
