/**
 * The CLI's buffered log destination (src/logDestination.ts) loses nothing: every handshake's
 * `authenticated` line is on stderr after a SIGTERM or SIGINT shutdown, in order, the `stopped`
 * line last; and a line logged while the server is idle appears without waiting for the exit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';
import { waitUntil } from '../support/waitUntil.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(REPO_ROOT, 'bin', 'negotiate-server.js');
const HANDSHAKES = 300;

let realm: ThrowawayRealm;
const children = new Set<ChildProcessWithoutNullStreams>();

before(async () => {
  realm = await startTestRealm();
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await realm?.destroy();
});

function env(): NodeJS.ProcessEnv {
  return { ...process.env, ...realm.env(), LC_ALL: 'C' };
}

/** `serve` on a free HTTP port; resolves with the port once it listens. */
async function serve(): Promise<{ child: ChildProcessWithoutNullStreams; port: number; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--keytab', realm.keytab, '--http', '127.0.0.1:0'], {
    env: env(),
  });
  children.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (stderr += c));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as { event?: string; frontend?: string; port?: number };
      if (event.event === 'listening' && event.frontend === 'http' && event.port) resolve(event.port);
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${stderr}`)));
  });
  return { child, port, stderr: () => stderr };
}

function load(port: number): Promise<{ handshakes: number }> {
  const args = [BIN, 'loadgen', `http://localhost:${port}/whoami`, '--connections', '8', '--duration', '60'];
  args.push('--max-handshakes', String(HANDSHAKES), '--json');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env: env(), timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`loadgen failed: ${stderr}`));
      else resolve(JSON.parse(stdout) as { handshakes: number });
    });
  });
}

function logLines(stderr: string): Array<{ msg?: string; connectionId?: number }> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; connectionId?: number });
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`every handshake's log line is written before the process exits on ${signal}`, async () => {
    const server = await serve();
    const result = await load(server.port);
    assert.equal(result.handshakes, HANDSHAKES);
    const exited = new Promise<number | null>((resolve) => server.child.on('exit', (code) => resolve(code)));
    server.child.kill(signal);
    assert.equal(await exited, 0);
    const lines = logLines(server.stderr());
    const authenticated = lines.filter((l) => l.msg === 'authenticated');
    assert.equal(authenticated.length, HANDSHAKES);
    assert.equal(lines.at(-1)?.msg, 'stopped');
  });
}

test('a line logged while the server is idle reaches stderr within the flush period', async () => {
  const server = await serve();
  await load(server.port);
  // No exit, no more traffic: the lines must arrive on their own (LOG_FLUSH_MS).
  await waitUntil(
    () => logLines(server.stderr()).filter((l) => l.msg === 'authenticated').length === HANDSHAKES,
    'every authenticated line while the server is idle',
  );
  server.child.kill('SIGTERM');
});
