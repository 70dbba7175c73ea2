/**
 * The `negotiate-server` command-line contract (src/cli.ts), by running bin/negotiate-server.js
 * as users' scripts do: help texts, usage errors (exit 2), start-up errors (exit 1), JSON event
 * lines on stdout, the embedded realm's lifecycle on SIGTERM/SIGINT, and `realm up` / `realm down`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { Cli, cleanEnv, isLiveKdcOf, jsonLines, liveKdcsOf, START_TIMEOUT_MS } from '../support/cliProcess.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { waitUntil } from '../support/waitUntil.js';

// Compiled to dist/test/integration/cli.test.js: the repository root is three levels up.
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(REPO_ROOT, 'bin', 'negotiate-server.js');

const bash = requireTool('bash', 'bash');
requireTool('gss-client', 'krb5-gss-samples');
requireTool('klist', 'krb5-user');

const CMD_TIMEOUT_MS = 30_000;

let realm: ThrowawayRealm | undefined;
const scratchDirs: string[] = [];
/** Realm directories made with `realm up`, to bring down if a test failed half-way. */
const upRealms = new Set<string>();

before(async () => {
  realm = await startTestRealm();
});

// Each Cli ends its own process and embedded realm when its test ends (test/support/cliProcess.ts).
after(async () => {
  for (const dir of upRealms) {
    if (existsSync(path.join(dir, 'kdc.pid'))) await runCli(['realm', 'down', dir]).catch(() => undefined);
  }
  await realm?.destroy();
  await Promise.allSettled(scratchDirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function scratchDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-cli-test-'));
  scratchDirs.push(d);
  return d;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
  timeoutMs = CMD_TIMEOUT_MS,
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : null
        : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return run(process.execPath, [BIN, ...args], env);
}

/** Runs a bash script (`bash -c SCRIPT _ ARGS...`) with the clean environment. */
function runBash(script: string, args: string[] = []): Promise<Run> {
  return run(bash, ['-c', script, '_', ...args]);
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function assertListening(ev: Record<string, unknown> | undefined, frontend: string): number {
  assert.ok(ev, `a listening line for ${frontend}`);
  assert.equal(ev['event'], 'listening');
  assert.equal(ev['frontend'], frontend);
  assert.equal(ev['address'], '127.0.0.1');
  const port = ev['port'];
  assert.ok(
    typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536,
    `real port, not ${String(port)}`,
  );
  return port;
}

// --- help and usage errors --------------------------------------------------------------------

test('--help: exit 0, the commands on stdout, nothing on stderr', async () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Usage: negotiate-server <command>/);
    assert.match(r.stdout, /serve/);
    assert.match(r.stdout, /realm up DIR/);
    assert.match(r.stdout, /realm down DIR/);
    assert.equal(r.stderr, '');
  }
});

test('serve --help: exit 0, every documented flag on stdout', async () => {
  const r = await runCli(['serve', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  for (const flag of [
    '--keytab',
    '--principal',
    '--ntlm',
    '--ntlm-users',
    '--replay-cache',
    '--sspi',
    '--gss-sample',
    '--workers',
    '--max-queue',
    '--task-timeout',
    '--max-contexts',
    '--max-token',
    '--handshake-timeout',
    '--idle-timeout',
    '--max-connections',
    '--shutdown-grace',
    '--greeting',
    '--log-level',
  ]) {
    assert.ok(r.stdout.includes(flag), `serve --help mentions ${flag}`);
  }
  assert.match(r.stdout, /Exit codes: 0 .* 1 .* 2 /);
});

test('realm --help: exit 0, up/down and the env variables on stdout', async () => {
  const r = await runCli(['realm', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /negotiate-server realm up DIR/);
  assert.match(r.stdout, /negotiate-server realm down DIR/);
  for (const v of ['KRB5_CONFIG', 'KRB5CCNAME', 'KRB5_KTNAME', 'NTLM_USER_FILE']) assert.ok(r.stdout.includes(v), v);
});

test('unknown command: exit 2, message on stderr, nothing on stdout', async () => {
  const r = await runCli(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  assert.equal(r.stdout, '');
});

test('unknown serve flag: exit 2, message on stderr naming it, nothing on stdout', async () => {
  const r = await runCli(['serve', '--no-such-flag', '--sspi', '127.0.0.1:0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--no-such-flag/);
  assert.match(r.stderr, /Usage: negotiate-server serve/);
  assert.equal(r.stdout, '');
});

test('no command at all: exit 2, usage on stderr, stdout left for JSON', async () => {
  const r = await runCli([]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Usage: negotiate-server <command>/);
  assert.equal(r.stdout, '', 'stdout carries only JSON event lines');
});

test('realm with a bad action: exit 2 with the realm usage', async () => {
  const r = await runCli(['realm', 'sideways', '/tmp/x']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /realm up DIR \| realm down DIR/);
  assert.equal(r.stdout, '');
});

// --- start-up and configuration errors -------------------------------------------------------

test('serve --keytab /nonexistent/keytab: exit 1, ERR_KEYTAB_UNREADABLE with the path, no listening line', async () => {
  const r = await runCli(['serve', '--keytab', '/nonexistent/keytab', '--sspi', '127.0.0.1:0']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /ERR_KEYTAB_UNREADABLE/);
  assert.match(r.stderr, /\/nonexistent\/keytab/);
  assert.doesNotMatch(r.stdout, /listening/);
  assert.equal(r.stdout, '');
});

test('serve --replay-cache bogus: exit 2 (configuration error) with a clear message', async () => {
  assert.ok(realm);
  const r = await runCli(['serve', '--keytab', realm.keytab, '--sspi', '127.0.0.1:0', '--replay-cache', 'bogus']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /ERR_CONFIG/);
  assert.match(r.stderr, /--replay-cache/);
  assert.match(r.stderr, /"bogus"/);
  assert.match(r.stderr, /default, memory, none, file:PATH or redis:\/\/HOST:PORT/);
  assert.equal(r.stdout, '');
});

// --- serve with the embedded realm ------------------------------------------------------------

test('serve without --keytab: embedded realm, real ports, printed gss-client works, SIGTERM cleans up', async (t) => {
  const cli = new Cli(t, process.execPath, [BIN, 'serve', '--sspi', '127.0.0.1:0', '--gss-sample', '127.0.0.1:0']);
  const events = await cli.waitLines(3);
  const [realmEv, ...listening] = events;
  assert.ok(realmEv);
  assert.equal(realmEv['event'], 'realm', 'the realm line comes first');
  assert.equal(realmEv['realm'], 'KRBTEST.COM');
  assert.equal(realmEv['user'], 'alice@KRBTEST.COM');
  const dir = realmEv['dir'];
  const envFile = realmEv['envFile'];
  const gssClientLine = realmEv['gssClient'];
  assert.ok(typeof dir === 'string' && path.isAbsolute(dir), 'absolute realm dir');
  assert.equal(envFile, path.join(dir, 'env'));
  assert.ok(typeof gssClientLine === 'string');
  assert.ok(existsSync(dir), 'the realm dir exists while serving');

  assert.equal(listening.length, 2);
  const sspiPort = assertListening(
    listening.find((e) => e['frontend'] === 'sspi'),
    'sspi',
  );
  const gssPort = assertListening(
    listening.find((e) => e['frontend'] === 'gss-sample'),
    'gss-sample',
  );
  assert.ok(await connects(sspiPort), 'the sspi port accepts connections');
  assert.ok(
    gssClientLine.includes(`-port ${gssPort} `),
    `the printed command uses the gss-sample port: ${gssClientLine}`,
  );

  const kdcPid = Number((await fs.readFile(path.join(dir, 'kdc.pid'), 'utf8')).trim());
  assert.ok(await isLiveKdcOf(kdcPid, dir), 'the embedded KDC runs');

  // Exactly as printed: it sources the env file, which is all gss-client needs.
  const client = await runBash(gssClientLine);
  assert.equal(client.code, 0, `${gssClientLine}\n${client.stdout}\n${client.stderr}`);
  assert.match(client.stdout, /Signature verified\./);
  assert.match(client.stdout, /"alice@KRBTEST\.COM" to "host\/localhost@KRBTEST\.COM"/);
  // Log lines are buffered for up to LOG_FLUSH_MS (src/logDestination.ts).
  await waitUntil(() => cli.stderr.includes('"msg":"authenticated"'), 'the handshake logged on stderr');

  const exit = await cli.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr);
  const all = jsonLines(cli.lines.join('\n'));
  assert.equal(all.length, 4, `stdout:\n${cli.lines.join('\n')}`);
  assert.deepEqual(all[3], { event: 'stopped' });
  assert.equal(all.filter((e) => e['event'] === 'listening').length, 2, 'exactly one listening line per listener');
  assert.equal(existsSync(dir), false, 'the realm dir is removed');
  assert.equal(await isLiveKdcOf(kdcPid, dir), false, 'the KDC is gone');
  assert.deepEqual(await liveKdcsOf(dir), [], 'no krb5kdc of that realm survives');
  assert.equal(await connects(gssPort), false, 'the listener is closed');
});

test('serve without --keytab, only --gss-sample, stopped by SIGINT: one listener, clean exit', async (t) => {
  const cli = new Cli(t, process.execPath, [BIN, 'serve', '--gss-sample', '127.0.0.1:0', '--workers', '1']);
  const events = await cli.waitLines(2);
  const realmEv = events[0];
  assert.ok(realmEv);
  assert.equal(realmEv['event'], 'realm');
  const dir = realmEv['dir'];
  assert.ok(typeof dir === 'string');
  const gssPort = assertListening(events[1], 'gss-sample');
  const kdcPid = Number((await fs.readFile(path.join(dir, 'kdc.pid'), 'utf8')).trim());
  assert.ok(await isLiveKdcOf(kdcPid, dir));

  const exit = await cli.stop('SIGINT');
  assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr);
  const all = jsonLines(cli.lines.join('\n'));
  assert.deepEqual(
    all.map((e) => e['event']),
    ['realm', 'listening', 'stopped'],
    'no sspi listener when only --gss-sample is given',
  );
  assert.match(cli.stderr, /"signal":"SIGINT"/);
  assert.equal(existsSync(dir), false, 'the realm dir is removed');
  assert.equal(await isLiveKdcOf(kdcPid, dir), false, 'the KDC is gone');
  assert.deepEqual(await liveKdcsOf(dir), []);
  assert.equal(await connects(gssPort), false);
});

// --- realm up / serve --keytab / realm down ---------------------------------------------------

test('realm up DIR, serve --keytab with its env, gss-client, realm down DIR', async (t) => {
  const dir = path.join(await scratchDir(), 'realm');
  upRealms.add(dir);

  const up = await runCli(['realm', 'up', dir]);
  assert.equal(up.code, 0, up.stderr);
  const upEvents = jsonLines(up.stdout);
  assert.equal(upEvents.length, 1);
  const upEv = upEvents[0] as Record<string, unknown>;
  assert.equal(upEv['event'], 'realm');
  assert.equal(upEv['dir'], dir);
  assert.equal(upEv['envFile'], path.join(dir, 'env'));
  assert.equal(upEv['user'], 'alice@KRBTEST.COM');
  const kdcPid = upEv['kdcPid'];
  assert.ok(typeof kdcPid === 'number' && kdcPid > 0);
  assert.ok(typeof upEv['kdcPort'] === 'number' && upEv['kdcPort'] > 0);
  assert.doesNotMatch(up.stdout + up.stderr, new RegExp(`NEGOTIATE_PASSWORD`), 'the password is never printed');

  // The CLI has exited; its KDC must not have gone with it.
  assert.ok(await isLiveKdcOf(kdcPid, dir), 'the KDC survives the CLI');
  assert.equal((await fs.readFile(path.join(dir, 'kdc.pid'), 'utf8')).trim(), String(kdcPid));
  assert.equal((await fs.stat(path.join(dir, 'env'))).mode & 0o777, 0o600, 'env holds a password: mode 0600');

  const klist = await runBash('. "$1/env" && klist', [dir]);
  assert.equal(klist.code, 0, klist.stderr);
  assert.match(klist.stdout, /Default principal: alice@KRBTEST\.COM/);
  assert.match(klist.stdout, /krbtgt\/KRBTEST\.COM@KRBTEST\.COM/);

  const envDump = await runBash('. "$1/env" && env', [dir]);
  assert.equal(envDump.code, 0, envDump.stderr);
  const vars = new Map(
    envDump.stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );
  for (const v of [
    'KRB5_CONFIG',
    'KRB5CCNAME',
    'KRB5_KTNAME',
    'NTLM_USER_FILE',
    'NEGOTIATE_USER',
    'NEGOTIATE_PASSWORD',
  ]) {
    assert.ok((vars.get(v) ?? '').length > 0, `env defines ${v}`);
  }
  assert.equal(vars.get('KRB5_CONFIG'), path.join(dir, 'krb5.conf'));
  assert.equal(vars.get('KRB5_KTNAME'), `FILE:${path.join(dir, 'keytab')}`);
  assert.equal(vars.get('NEGOTIATE_USER'), 'alice@KRBTEST.COM');

  // A server started from that environment, with the realm's keytab.
  const serve = new Cli(t, bash, [
    '-c',
    '. "$1/env" && exec "$2" "$3" serve --keytab "${KRB5_KTNAME#FILE:}" --sspi 127.0.0.1:0 --gss-sample ' +
      '127.0.0.1:0 --workers 1',
    '_',
    dir,
    process.execPath,
    BIN,
  ]);
  const events = await serve.waitLines(2);
  assert.deepEqual(
    events.map((e) => e['event']),
    ['listening', 'listening'],
    'with --keytab there is no realm line',
  );
  assertListening(
    events.find((e) => e['frontend'] === 'sspi'),
    'sspi',
  );
  const gssPort = assertListening(
    events.find((e) => e['frontend'] === 'gss-sample'),
    'gss-sample',
  );

  const client = await runBash('. "$1/env" && gss-client -port "$2" localhost host@localhost "hello"', [
    dir,
    String(gssPort),
  ]);
  assert.equal(client.code, 0, `${client.stdout}\n${client.stderr}`);
  assert.match(client.stdout, /Signature verified\./);

  const exit = await serve.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, serve.stderr);
  assert.deepEqual(jsonLines(serve.lines.join('\n')).at(-1), { event: 'stopped' });
  assert.ok(existsSync(dir), 'serve --keytab never deletes the realm it was given');
  assert.ok(await isLiveKdcOf(kdcPid, dir), 'nor stops its KDC');

  const down = await runCli(['realm', 'down', dir]);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(jsonLines(down.stdout), [{ event: 'realm-down', dir }]);
  await waitUntil(async () => !(await isLiveKdcOf(kdcPid, dir)), 'the KDC to be gone');
  assert.deepEqual(await liveKdcsOf(dir), []);
  assert.equal(existsSync(path.join(dir, 'kdc.pid')), false, 'kdc.pid removed');

  // Idempotent: a second down has nothing to stop and still succeeds.
  const again = await runCli(['realm', 'down', dir]);
  assert.equal(again.code, 0, again.stderr);
  upRealms.delete(dir);
});

test('SIGTERM while the embedded realm is starting: no krb5kdc or realm directory left behind', async (t) => {
  const cli = new Cli(t, process.execPath, [BIN, 'serve', '--gss-sample', '127.0.0.1:0']);
  // The CLI logs the realm directory (stderr) before creating the realm.
  const deadline = Date.now() + START_TIMEOUT_MS;
  let dir: string | undefined;
  while (dir === undefined) {
    dir = /"dir":"([^"]+)"/.exec(cli.stderr)?.[1];
    if (dir === undefined && (!cli.running || Date.now() >= deadline))
      assert.fail(`no realm dir logged; stderr:\n${cli.stderr}`);
    if (dir === undefined) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  scratchDirs.push(dir); // removed in after() whatever happens
  // Signal once the KDC runs but (normally) before the server listens.
  let kdcPid: number | undefined;
  while (kdcPid === undefined && cli.running && Date.now() < deadline) {
    const text = await fs.readFile(path.join(dir, 'kdc.pid'), 'utf8').catch(() => '');
    if (/^\d+\s*$/.test(text)) kdcPid = Number(text.trim());
    else await new Promise((resolve) => setTimeout(resolve, 2));
  }
  assert.ok(kdcPid !== undefined, `the embedded KDC started; stderr:\n${cli.stderr}`);
  const exit = await cli.stop('SIGTERM');
  try {
    // A clean exit comes after the realm's destroy(), which waits for its KDC: no polling.
    assert.equal(await isLiveKdcOf(kdcPid, dir), false, `krb5kdc ${kdcPid} survived the CLI`);
    assert.equal(existsSync(dir), false, `${dir} left behind`);
    assert.equal(exit.signal, null, 'the CLI handles the signal instead of dying of it');
    assert.notEqual(exit.code, null);
  } finally {
    // A KDC this test caused to leak is ours to end.
    if (await isLiveKdcOf(kdcPid, dir)) process.kill(kdcPid, 'SIGTERM');
  }
});

test('serve --local-name strip-realm --allow-principals-file: /whoami has the local name; others: 403', async (t) => {
  const scratch = await scratchDir();
  const allowed = path.join(scratch, 'allowed');
  await fs.writeFile(allowed, '# who may use this service\nalice@KRBTEST.COM\n');
  const cli = new Cli(t, process.execPath, [
    BIN,
    'serve',
    '--http',
    '127.0.0.1:0',
    '--local-name',
    'strip-realm',
    '--allow-principals-file',
    allowed,
  ]);
  const [realmEv, listening] = await cli.waitLines(2);
  const envFile = realmEv?.['envFile'];
  assert.ok(typeof envFile === 'string');
  const port = assertListening(listening, 'http');
  const client = path.join(REPO_ROOT, 'test', 'fixtures', 'http_client.py');
  const ok = await runBash(`. "$1" && /usr/bin/python3 "$2" "http://localhost:$3/whoami"`, [
    envFile,
    client,
    String(port),
  ]);
  assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
  const body = (JSON.parse(ok.stdout) as { body: { principal: string; localName?: string } }).body;
  assert.deepEqual([body.principal, body.localName], ['alice@KRBTEST.COM', 'alice']);
  assert.equal((await cli.stop('SIGTERM')).code, 0, cli.stderr);

  // The same file naming someone else: alice authenticates, and gets 403 with the mutual token.
  await fs.writeFile(allowed, 'bob@KRBTEST.COM\n');
  const other = new Cli(t, process.execPath, [
    BIN,
    'serve',
    '--http',
    '127.0.0.1:0',
    '--allow-principals-file',
    allowed,
  ]);
  const [otherRealm, otherListening] = await other.waitLines(2);
  const otherEnv = otherRealm?.['envFile'];
  assert.ok(typeof otherEnv === 'string');
  const refused = await runBash(`. "$1" && /usr/bin/python3 "$2" --expect-status 403 "http://localhost:$3/whoami"`, [
    otherEnv,
    client,
    String(assertListening(otherListening, 'http')),
  ]);
  assert.equal(refused.code, 0, `403 with a verified mutual token:\n${refused.stdout}\n${refused.stderr}`);
  // The CLI's log lines are buffered (up to 100 ms) and flushed at exit: read them after it.
  assert.equal((await other.stop('SIGTERM')).code, 0, other.stderr);
  assert.match(other.stderr, /"rule":"allow-principal".*"msg":"authorization refused"/);
});

test('serve --allow-principals-file with a junk line: refused at start, naming the line', async () => {
  const scratch = await scratchDir();
  const junk = path.join(scratch, 'allowed');
  await fs.writeFile(junk, 'alice@KRBTEST.COM\nalice bob\n');
  const r = await runCli(['serve', '--keytab', junk, '--http', '127.0.0.1:0', '--allow-principals-file', junk]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`${junk.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 2`));
  assert.doesNotMatch(r.stdout, /listening/);
});
