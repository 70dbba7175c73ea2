#!/usr/bin/env node
// Soak test of the raw-TCP front ends: many handshakes (Kerberos through SPNEGO and raw, NTLM,
// and deliberate failures: random tokens, replays, truncated frames, clients that leave), then
// a check that the server's context counters and RSS came back to their baseline.
//
//   node scripts/soak.mjs [--count 100000] [--time-limit 900] [--concurrency 16] [--no-ntlm]
//                         [--workers 2] [--max-rss-growth-mb 64] [--max-late-rss-growth-mb 16]
//                         [--max-unexpected 0] [--only SCENARIO,...]
//                         [--progress-every 5] [--warmup N] [--step-timeout-ms 15000]
//
// Needs a build (npm run build; the native addon, with tokengen, which makes the tokens), the
// Kerberos tools of scripts/setup.sh and python3-gssapi (NTLM).
// Starts its own throwaway realm and the server in a child process; everything on 127.0.0.1.
// Progress on stderr every few seconds; the report is one JSON object on stdout.
// Exit: 0 pass; 1 counters or RSS not back to baseline, or unexpected conversations;
// 2 usage error; 3 the time limit stopped it before `count` (the checks still ran).
import { parseArgs } from 'node:util';
import { runSoak } from './lib/soakRun.mjs';

function usage(message) {
  process.stderr.write(`soak: ${message}\nsee the header of scripts/soak.mjs for the options\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      count: { type: 'string', default: '100000' },
      'time-limit': { type: 'string', default: '900' },
      concurrency: { type: 'string', default: '16' },
      'no-ntlm': { type: 'boolean', default: false },
      only: { type: 'string' },
      workers: { type: 'string', default: '2' },
      'max-rss-growth-mb': { type: 'string', default: '64' },
      'max-late-rss-growth-mb': { type: 'string', default: '16' },
      'max-unexpected': { type: 'string', default: '0' },
      'progress-every': { type: 'string', default: '5' },
      warmup: { type: 'string' },
      'step-timeout-ms': { type: 'string', default: '15000' },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  usage(err instanceof Error ? err.message : String(err));
}

/** @param {string} name @param {string} v @param {number} min @param {number} max */
function int(name, v, min, max) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    usage(`--${name} must be an integer in [${min}, ${max}], not ${JSON.stringify(v)}`);
  return n;
}

const count = int('count', values.count, 1, 10_000_000);
const result = await runSoak({
  count,
  timeLimitS: int('time-limit', values['time-limit'], 1, 24 * 3600),
  concurrency: int('concurrency', values.concurrency, 1, 1024),
  ntlm: !values['no-ntlm'],
  ...(values.only !== undefined ? { only: values.only.split(',').map((x) => x.trim()) } : {}),
  workers: int('workers', values.workers, 1, 256),
  maxRssGrowthMb: int('max-rss-growth-mb', values['max-rss-growth-mb'], 1, 65536),
  maxLateRssGrowthMb: int('max-late-rss-growth-mb', values['max-late-rss-growth-mb'], 1, 65536),
  maxUnexpected: int('max-unexpected', values['max-unexpected'], 0, 10_000_000),
  progressEveryS: int('progress-every', values['progress-every'], 1, 3600),
  warmup:
    values.warmup === undefined ? Math.min(2000, Math.ceil(count * 0.05)) : int('warmup', values.warmup, 0, count),
  stepTimeoutMs: int('step-timeout-ms', values['step-timeout-ms'], 100, 600_000),
  log: (line) => process.stderr.write(`${line}\n`),
}).catch((err) => {
  // The soak could not finish (the server process died, the realm would not start...): still
  // one JSON report, and a failing exit code.
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, exitCode: 1, report: { ok: false, failures: [`the soak could not complete: ${message}`] } };
});
process.stdout.write(`${JSON.stringify(result.report, null, 2)}\n`);
process.exitCode = result.exitCode;
