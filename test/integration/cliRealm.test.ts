/**
 * The `negotiate-server` command line's realms, by running bin/negotiate-server.js as users'
 * scripts do: `serve` without a keytab (an embedded throwaway realm: its event line, the printed
 * gss-client command, its removal on SIGTERM/SIGINT, also while it is starting), and
 * `realm up` / `serve --keytab` / `realm down`. The rest of the CLI contract: cli.test.ts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  assertListening,
  BIN,
  Cli,
  connects,
  isLiveKdcOf,
  jsonLines,
  liveKdcsOf,
  runBash,
  runCli,
  START_TIMEOUT_MS,
} from '../support/cliProcess.js';
import { requireTool } from '../support/realm.js';
import { waitUntil } from '../support/waitUntil.js';

const bash = requireTool('bash', 'bash');
requireTool('gss-client', 'krb5-gss-samples');
requireTool('klist', 'krb5-user');

const scratchDirs: string[] = [];
/** Realm directories made with `realm up`, to bring down if a test failed half-way. */
const upRealms = new Set<string>();

// Each Cli ends its own process and embedded realm when its test ends (test/support/cliProcess.ts).
after(async () => {
  for (const dir of upRealms) {
    if (existsSync(path.join(dir, 'kdc.pid'))) await runCli(['realm', 'down', dir]).catch(() => undefined);
  }
  await Promise.allSettled(scratchDirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function scratchDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-cli-test-'));
  scratchDirs.push(d);
  return d;
}

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
