/**
 * Issue 10, item 4: the connection caps must fit the file-descriptor limit. The server is run
 * as a child process under a lowered `ulimit -n` (soft and hard): asked for caps beyond it, it
 * refuses to start with a message naming the caps and the limit (before the fix it started and
 * would have run out of descriptors under load); left at the default cap, it lowers the cap to
 * fit, says so, and serves.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'negotiate-server.js');
const LIMIT = 600;
const T = { timeout: 60_000 };

let realm: ThrowawayRealm;

before(async () => {
  realm = await startTestRealm();
});

after(async () => {
  await realm?.destroy();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `serve` under `ulimit -n LIMIT` on free loopback ports. `untilListening`: once the HTTP
 * listener is announced, SIGTERM it (by pid) and collect the rest.
 */
function serveUnderLimit(extra: string[], untilListening: boolean): Promise<Run> {
  const args = [
    '--keytab',
    realm.keytab,
    '--sspi',
    '127.0.0.1:0',
    '--gss-sample',
    '127.0.0.1:0',
    '--http',
    '127.0.0.1:0',
    '--workers',
    '1',
    ...extra,
  ];
  const quoted = [process.execPath, BIN, 'serve', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('bash', ['-c', `ulimit -n ${LIMIT} && exec ${quoted}`], {
    env: { ...process.env, ...realm.env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let signalled = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (untilListening && !signalled && /"frontend":"http"/.test(stdout) && child.pid !== undefined) {
      // Once: a second SIGTERM after the server removed its handler would kill it outright.
      signalled = true;
      process.kill(child.pid, 'SIGTERM');
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test(`--max-connections beyond ulimit -n ${LIMIT}: refuses to start, naming the caps and the limit`, T, async () => {
  const r = await serveUnderLimit(['--max-connections', '1000'], false);
  assert.equal(r.code, 2, `exit status of a configuration error; stderr: ${r.stderr}`);
  assert.match(
    r.stderr,
    new RegExp(
      'the connection caps do not fit the file-descriptor limit: ' +
        'sspi 1000 \\+ gss-sample 1000 \\+ http \\(with WebSockets\\) 1100 connections',
    ),
  );
  assert.match(r.stderr, new RegExp(`RLIMIT_NOFILE is ${LIMIT} \\(hard limit ${LIMIT}\\)`));
  assert.match(r.stderr, /Lower --max-connections, or raise the limit/);
  assert.doesNotMatch(r.stdout, /"event":"listening"/, 'no listener was opened');
});

test(`the default cap under ulimit -n ${LIMIT}: lowered to fit, with a warning, and served`, T, async () => {
  const r = await serveUnderLimit([], true);
  assert.equal(r.code, 0, r.stderr);
  const warning = r.stderr
    .split('\n')
    .find((l) => l.includes('--max-connections lowered to fit the file-descriptor limit'));
  assert.ok(warning, r.stderr);
  const fields = JSON.parse(warning) as { maxConnections: number; requested: number };
  assert.equal(fields.requested, 10_000);
  // Three listeners, HTTP with its sampling slack, and the reserve fit in the limit.
  assert.ok(fields.maxConnections > 0 && 3 * fields.maxConnections + 64 < LIMIT, JSON.stringify(fields));
  assert.match(r.stdout, /"frontend":"sspi"/);
});
