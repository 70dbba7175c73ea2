/**
 * The KDC's life (src/realm/KdcProcess.ts) with a stand-in krb5kdc: a bash script that prints
 * the ready line (or not), then becomes a process whose argv[0] is "krb5kdc" (`exec -a`), as
 * /proc shows the real one. Its behaviour is picked by FAKE_KDC in its environment.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { freeLoopbackPort, isKdcOf, KdcProcess, type KdcStartOptions } from '../../src/realm/KdcProcess.js';
import { waitUntil } from '../support/waitUntil.js';

const run = promisify(execFile);
let dir: string;
const started: KdcProcess[] = [];

const kFakeKdc = `#!/bin/bash
echo $$ > "$FAKE_PID_FILE"
case "$FAKE_KDC" in
  ready)       echo "krb5kdc: starting..." >&2; exec -a krb5kdc sleep 600 ;;
  stubborn)    trap '' TERM; echo "krb5kdc: starting..." >&2; exec -a krb5kdc sleep 600 ;;
  port-in-use) echo "krb5kdc: Address already in use - Cannot bind server socket" >&2; exit 1 ;;
  silent)      exec -a krb5kdc sleep 600 ;;
esac
`;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-test-'));
  await fs.writeFile(path.join(dir, 'krb5kdc'), kFakeKdc, { mode: 0o755 });
});
after(async () => {
  await Promise.allSettled(started.map((k) => k.stop({ termTimeoutMs: 200 })));
  await fs.rm(dir, { recursive: true, force: true });
});

function options(mode: string, extra: Partial<KdcStartOptions> = {}): KdcStartOptions {
  const env = {
    PATH: '/usr/bin:/bin',
    FAKE_KDC: mode,
    FAKE_PID_FILE: path.join(dir, 'fake.pid'),
    KRB5_KDC_PROFILE: path.join(dir, 'kdc.conf'),
  };
  const kdcLog = path.join(dir, 'kdc.log');
  return { realm: 'R.TEST', kdcPort: 61088, env, kdcLog, detached: false, searchPath: [dir], ...extra };
}

async function start(mode: string, extra: Partial<KdcStartOptions> = {}): Promise<KdcProcess> {
  const result = await KdcProcess.start(options(mode, extra));
  assert.ok(result.ok, result.ok ? '' : result.message);
  started.push(result.kdc);
  return result.kdc;
}

async function fakePid(): Promise<number> {
  return Number((await fs.readFile(path.join(dir, 'fake.pid'), 'utf8')).trim());
}

/** True while /proc shows `pid` and it is not a zombie (an orphan's reaper may be slow). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Waits (bounded) for `pid` to be gone. */
function waitGone(pid: number, ms: number): Promise<void> {
  return waitUntil(() => !alive(pid), `process ${pid} to be gone`, ms);
}

test("start() resolves once the ready line is in kdc.log, with the PID of this realm's running krb5kdc", async () => {
  const kdc = await start('ready');
  assert.equal(kdc.pid, await fakePid());
  assert.equal(kdc.running, true);
  assert.equal(await isKdcOf(kdc.pid, path.join(dir, 'kdc.conf')), true);
  assert.equal(await isKdcOf(kdc.pid, '/elsewhere/kdc.conf'), false, "another realm's KDC counts as ours");
  assert.match(await fs.readFile(path.join(dir, 'kdc.log'), 'utf8'), /krb5kdc: starting\.\.\./);
  await kdc.stop();
  assert.equal(kdc.running, false);
  assert.equal(existsSync(`/proc/${kdc.pid}`), false, 'stop() returned before the KDC was gone');
  await kdc.stop(); // idempotent
});

test('a KDC that exits before it is ready: ok false, portInUse, and the log in the message', async () => {
  const result = await KdcProcess.start(options('port-in-use'));
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.equal(result.portInUse, true);
  const expected = /^starting krb5kdc for realm R\.TEST on 127\.0\.0\.1:61088 failed: it exited with code 1;/;
  assert.match(result.message, expected);
  assert.match(result.message, /Address already in use/);
});

test(
  'a KDC that exits while its log is still being closed is seen to exit (a busy thread pool)',
  { timeout: 8000 },
  async () => {
    // Closing kdc.log waits behind these jobs on libuv's pool, so the failing KDC exits before
    // start() gets past the close: its 'exit' must already have a listener. The jobs stop when
    // start() returns, or after 3 s if it never does.
    const busyUntil = Date.now() + 3000;
    let busy = true;
    const job = (): void =>
      pbkdf2('k', 's', 20_000, 32, 'sha256', () => (busy && Date.now() < busyUntil ? job() : undefined));
    for (let i = 0; i < 12; i += 1) job();
    const result = await KdcProcess.start(options('port-in-use', { readyTimeoutMs: 1500 }));
    busy = false;
    assert.ok(!result.ok);
    assert.match(result.message, /failed: it exited with code 1;/);
  },
);

test('a KDC that never prints the ready line is killed at the deadline', async () => {
  const t0 = Date.now();
  const result = await KdcProcess.start(options('silent', { readyTimeoutMs: 300 }));
  assert.ok(!result.ok);
  assert.equal(result.portInUse, false);
  assert.match(result.message, /it did not print "starting\.\.\." within 300 ms/);
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(existsSync(`/proc/${await fakePid()}`), false, 'the silent KDC was left running');
});

test("only the new part of kdc.log counts: an earlier run's ready line does not make a silent KDC ready", async () => {
  await fs.appendFile(path.join(dir, 'kdc.log'), 'krb5kdc: starting...\n');
  const result = await KdcProcess.start(options('silent', { readyTimeoutMs: 200 }));
  assert.equal(result.ok, false);
});

test('stop() sends SIGKILL to a KDC that ignores SIGTERM', async () => {
  const kdc = await start('stubborn');
  const t0 = Date.now();
  await kdc.stop({ termTimeoutMs: 200 });
  assert.ok(Date.now() - t0 >= 190, 'SIGKILL came before the SIGTERM grace period');
  assert.equal(existsSync(`/proc/${kdc.pid}`), false);
});

test('fromPidFile() + stop() ends a KDC known only by its pid file (as realm down does)', async () => {
  const pidFile = path.join(dir, 'kdc.pid');
  assert.equal(await KdcProcess.fromPidFile(pidFile, path.join(dir, 'kdc.conf'), path.join(dir, 'kdc.log')), undefined);
  const kdc = await start('ready');
  await fs.writeFile(pidFile, `${kdc.pid}\n`);
  const adopted = await KdcProcess.fromPidFile(pidFile, path.join(dir, 'kdc.conf'), path.join(dir, 'kdc.log'));
  assert.equal(adopted?.pid, kdc.pid);
  assert.equal(adopted.running, true);
  await adopted.stop();
  assert.equal(adopted.running, false);
  await waitGone(kdc.pid, 2000);
});

test('stop() never signals a PID that is not a krb5kdc of this realm (a recycled PID)', async () => {
  const other = spawn('sleep', ['600'], { stdio: 'ignore' });
  const pid = other.pid ?? 0;
  try {
    await KdcProcess.adopt(pid, path.join(dir, 'kdc.conf'), path.join(dir, 'kdc.log')).stop();
    assert.equal(other.exitCode, null);
    assert.ok(existsSync(`/proc/${pid}`), 'a process that is not a krb5kdc was killed');
  } finally {
    other.kill('SIGKILL');
  }
  const kdc = await start('ready');
  await KdcProcess.adopt(kdc.pid, '/another/realm/kdc.conf', path.join(dir, 'kdc.log')).stop();
  assert.ok(existsSync(`/proc/${kdc.pid}`), "another realm's KDC was killed");
  await kdc.stop();
});

test('a non-detached KDC ends with the Node process that started it; a detached one outlives it', async () => {
  const moduleUrl = new URL('../../src/realm/KdcProcess.js', import.meta.url).href;
  const script = `
    const { KdcProcess } = await import(${JSON.stringify(moduleUrl)});
    const opts = JSON.parse(process.argv[1]);
    const r = await KdcProcess.start(opts);
    if (!r.ok) throw new Error(r.message);
    console.log(r.kdc.pid);`;
  const pids: Record<string, number> = {};
  for (const detached of [false, true]) {
    const args = ['--input-type=module', '-e', script, JSON.stringify(options('ready', { detached }))];
    const { stdout } = await run(process.execPath, args);
    pids[String(detached)] = Number(stdout.trim());
  }
  await waitUntil(() => !alive(pids['false'] ?? 0), 'the non-detached KDC to die with its process', 2000);
  const survivor = pids['true'] ?? 0;
  assert.ok(alive(survivor), 'the detached KDC died with its process');
  await KdcProcess.adopt(survivor, path.join(dir, 'kdc.conf'), path.join(dir, 'kdc.log')).stop();
  await waitGone(survivor, 2000);
});

test('freeLoopbackPort: a port that can be bound on 127.0.0.1 right away', async () => {
  const port = await freeLoopbackPort();
  assert.ok(port > 0 && port < 65536);
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise((r) => server.close(r));
});
