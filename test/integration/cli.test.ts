/**
 * The `negotiate-server` command-line contract (src/cli.ts), by running bin/negotiate-server.js
 * as users' scripts do: help texts, usage errors (exit 2), start-up errors (exit 1), JSON event
 * lines on stdout, and the authorization flags. The embedded realm's lifecycle and `realm up` /
 * `realm down`: cliRealm.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { assertListening, BIN, Cli, REPO_ROOT, runBash, runCli } from '../support/cliProcess.js';
import { requireTool, startTestRealm } from '../support/realm.js';

requireTool('bash', 'bash');

let realm: ThrowawayRealm | undefined;
const scratchDirs: string[] = [];

before(async () => {
  realm = await startTestRealm();
});

// Each Cli ends its own process and embedded realm when its test ends (test/support/cliProcess.ts).
after(async () => {
  await realm?.destroy();
  await Promise.allSettled(scratchDirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function scratchDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-cli-test-'));
  scratchDirs.push(d);
  return d;
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

// --- authorization flags ---------------------------------------------------------------------

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
