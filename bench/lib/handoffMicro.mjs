/**
 * The `handoff` variant group's micro-benchmark (bench/handoff.mjs) as run.mjs runs it: in a
 * child process, after the load phases, its table appended to the report.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Runs bench/handoff.mjs (bounded: `seconds` per run, 4 designs x 3 in-flight counts x
 * `repeats`); resolves with its JSON and table, or the reason it failed.
 * @param {{ seconds: number, repeats: number }} o
 */
export function runHandoffMicro(o) {
  const out = spawnSync(
    process.execPath,
    [path.join(here, '..', 'handoff.mjs'), '--json', '--seconds', String(o.seconds), '--repeats', String(o.repeats)],
    { encoding: 'utf8', timeout: 12 * o.repeats * (o.seconds + 30) * 1000 },
  );
  if (out.status !== 0) return { error: (out.stderr || `exit ${out.status}`).trim().slice(-500) };
  const data = JSON.parse(out.stdout);
  return { data, md: handoffMarkdown(data) };
}

/** The table docs/benchmarks.md shows. */
export function handoffMarkdown({ workers, calls, seconds, repeats, rows }) {
  let s =
    `No-op call through the pool, ${workers} worker threads, up to ${calls} calls or ${seconds} s per run, ` +
    `median of ${repeats} runs (each in a fresh process). \`native-accept\`: the native queue carrying an HTTP ` +
    "leg's real values (a 1.4 KB token out, a completed leg's result back) instead of a no-op.\n\n" +
    '| design | in flight | CPU per call | calls/s | p50 | p99 |\n| --- | --- | --- | --- | --- | --- |\n';
  for (const r of rows) {
    s +=
      `| ${r.design} | ${r.inFlight} | ${r.cpuUsPerCall.toFixed(1)} µs | ` +
      `${Math.round(r.callsPerS).toLocaleString('en-US')} | ` +
      `${r.p50Us.toFixed(0)} µs | ${r.p99Us.toFixed(0)} µs |\n`;
  }
  return s;
}
