/**
 * The soak (scripts/soak.mjs) at a small count: the same code as the full 100,000-handshake run,
 * as a child process the way users run it. Proves that after thousands of mixed conversations
 * (Kerberos through SPNEGO and raw on both TCP framings, NTLM with a protected message, random
 * tokens, replays, truncated frames, clients that leave) the server's context counters and open
 * connections are back to their baseline, its books balance (every context created was freed),
 * every good handshake and only those completed, and RSS stayed within its bound; and that the
 * verdict does fail when a bound is not met.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { requireTool } from '../support/realm.js';
import { requirePythonGssapi } from '../support/server.js';

// Compiled to dist/test/soak/soak.test.js: the repository root is three levels up.
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SOAK = path.join(REPO_ROOT, 'scripts', 'soak.mjs');

interface SoakRun {
  code: number | null;
  report: Record<string, unknown>;
  stderr: string;
}

function soak(args: string[], timeoutMs: number): Promise<SoakRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [SOAK, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      try {
        resolve({ code, report: JSON.parse(stdout) as Record<string, unknown>, stderr });
      } catch {
        reject(new Error(`soak.mjs printed no JSON report (exit ${code}):\nstdout: ${stdout.slice(0, 2000)}\nstderr: ${stderr.slice(-4000)}`));
      }
    });
  });
}

function tools(): void {
  requireTool('krb5kdc', 'krb5-kdc');
  requireTool('cc', 'gcc libkrb5-dev');
  requireTool('pkg-config', 'pkg-config libkrb5-dev');
  requirePythonGssapi();
}

type Counters = Record<string, number>;

/**
 * The allocators of a fresh server settle over its first ten thousand handshakes or so (a
 * one-time step of ~30 MB on this machine), so over 3,000 the second half still grows by up to
 * ~10 MB without any leak: the small run gets a wider late bound than the full run's 16 MB.
 * The contexts' books and the overall bound still hold it.
 */
const SMALL_RUN_LATE_BOUND = ['--max-late-rss-growth-mb', '40'];

test('3,000 mixed conversations: counters, connections and RSS return to the baseline', { timeout: 60_000 }, async () => {
  tools();
  const COUNT = 3000;
  const r = await soak(['--count', String(COUNT), '--time-limit', '25', '--progress-every', '2', ...SMALL_RUN_LATE_BOUND], 55_000);
  const rep = r.report;
  assert.equal(r.code, 0, `soak failed: ${JSON.stringify(rep['failures'])}\n${r.stderr.slice(-3000)}`);
  assert.equal(rep['ok'], true);
  assert.deepEqual(rep['failures'], []);
  assert.equal(rep['stoppedBy'], 'count');
  assert.equal(rep['finished'], COUNT);
  assert.match(r.stderr, /soak: baseline after \d+ warm-up conversations/, 'progress goes to stderr');

  const outcomes = rep['outcomes'] as { unexpected: number; byScenario: Record<string, { ok: number; rejected: number; abandoned: number; unexpected: number }> };
  assert.equal(outcomes.unexpected, 0);
  // Every kind of conversation of the mix ran, NTLM included.
  for (const [name, t] of Object.entries(outcomes.byScenario)) {
    assert.ok(t.ok + t.rejected + t.abandoned > 0, `scenario ${name} never ran`);
  }
  assert.ok((outcomes.byScenario['ntlm-gss']?.ok ?? 0) > 0 && (outcomes.byScenario['spnego-ntlm-gss']?.ok ?? 0) > 0, 'NTLM handshakes succeeded');
  assert.ok((outcomes.byScenario['replay-sspi']?.rejected ?? 0) > 0, 'replays were refused');

  const counters = rep['counters'] as { baseline: Counters; end: Counters; delta: Counters };
  for (const k of ['live', 'handshaking', 'established', 'inUse', 'queued']) {
    assert.equal(counters.end[k], counters.baseline[k], `${k} back to its baseline`);
    assert.equal(counters.end[k], 0, `${k} is 0 at the end`);
  }
  const d = counters.delta;
  assert.ok((d['created'] ?? 0) > COUNT / 2, `contexts were created: ${JSON.stringify(d)}`);
  assert.equal(d['created'], (d['failed'] ?? 0) + (d['released'] ?? 0) + (d['expired'] ?? 0), 'every context created was freed');
  assert.equal(d['refusedFull'], 0);
  assert.deepEqual(rep['connections'], { sspi: 0, 'gss-sample': 0 });

  const rss = rep['rss'] as Record<string, number>;
  console.log(`soak ${COUNT}: ${JSON.stringify({ durationS: rep['durationS'], rss, delta: d })}`);
});

test('the soak verdict fails when a bound is not met (RSS bound of 1 MB)', { timeout: 60_000 }, async () => {
  tools();
  const r = await soak(['--count', '600', '--time-limit', '25', '--max-rss-growth-mb', '1', '--progress-every', '5'], 55_000);
  assert.equal(r.code, 1, `exit code 1 expected; report: ${JSON.stringify(r.report)}`);
  assert.equal(r.report['ok'], false);
  const failures = r.report['failures'] as string[];
  assert.ok(failures.some((f) => /RSS grew by .* \(bound 1 MB\)/.test(f)), `failures: ${JSON.stringify(failures)}`);
  // Only the bound failed: the counters themselves are back.
  assert.ok(failures.every((f) => f.startsWith('RSS grew')), `failures: ${JSON.stringify(failures)}`);
});
