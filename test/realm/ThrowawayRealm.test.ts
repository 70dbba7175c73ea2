import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { ConfigError } from '../../src/errors.js';
import { ThrowawayRealm } from '../../src/realm/index.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { waitUntil } from '../support/waitUntil.js';

const run = promisify(execFile);
const klist = requireTool('klist', 'krb5-user');
const ss = requireTool('ss', 'iproute2');
const bash = requireTool('bash', 'bash');

const realms: ThrowawayRealm[] = [];
const scratchDirs: string[] = [];
let realm: ThrowawayRealm;

before(async () => {
  realm = await startTestRealm();
  realms.push(realm);
});

after(async () => {
  await Promise.allSettled(realms.map((r) => r.destroy()));
  await Promise.allSettled(scratchDirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

function clientEnv(r: ThrowawayRealm): NodeJS.ProcessEnv {
  return { ...process.env, ...r.env(), LC_ALL: 'C' };
}

/** True if a TCP connection to 127.0.0.1:port is accepted. */
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

test('create() leaves a TGT for the user in the realm ccache', async () => {
  const { stdout } = await run(klist, [], { env: clientEnv(realm) });
  assert.match(stdout, new RegExp(`Ticket cache: FILE:${realm.ccache}`));
  assert.match(stdout, /Default principal: alice@KRBTEST\.COM/);
  assert.match(stdout, /krbtgt\/KRBTEST\.COM@KRBTEST\.COM/);
  await run(klist, ['-s'], { env: clientEnv(realm) }); // -s: exit status says "valid TGT"
});

test('the keytab holds host/localhost and HTTP/localhost', async () => {
  const { stdout } = await run(klist, ['-k', realm.keytab], { env: clientEnv(realm) });
  assert.match(stdout, /host\/localhost@KRBTEST\.COM/);
  assert.match(stdout, /HTTP\/localhost@KRBTEST\.COM/);
  assert.deepEqual(realm.servicePrincipals, ['host/localhost@KRBTEST.COM', 'HTTP/localhost@KRBTEST.COM']);
});

test('names and secret files follow the realm', async () => {
  assert.equal(realm.realmName, 'KRBTEST.COM');
  assert.equal(realm.userPrincipal, 'alice@KRBTEST.COM');
  assert.equal(realm.ntlmDomain, 'KRBTEST');
  assert.equal(realm.ntlmUser, 'KRBTEST\\alice');
  assert.match(realm.password, /^[A-Za-z0-9_][A-Za-z0-9_-]{23}$/, 'base64url, never a leading dash (it would read as an option)');
  assert.equal(await fs.readFile(realm.ntlmUserFile, 'utf8'), `KRBTEST:alice:${realm.password}\n`);
  for (const file of [realm.ntlmUserFile, path.join(realm.dir, 'realm.json'), realm.keytab, realm.ccache]) {
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600, file);
  }
});

test('the env file sources in bash and sets every variable', async () => {
  const file = await realm.writeEnvFile();
  assert.equal(file, path.join(realm.dir, 'env'));
  assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
  const expected = realm.env();
  const required = [
    'KRB5_CONFIG',
    'KRB5_KDC_PROFILE',
    'KRB5CCNAME',
    'KRB5_KTNAME',
    'KRB5RCACHEDIR',
    'NTLM_USER_FILE',
    'NEGOTIATE_USER',
    'NEGOTIATE_PASSWORD',
    'NEGOTIATE_NTLM_USER',
    'NEGOTIATE_REALM',
  ];
  assert.deepEqual(Object.keys(expected).sort(), [...required].sort());
  // A clean environment, so every value printed must come from the file.
  const script = '. "$1"; shift; for n in "$@"; do printf "%s\\0" "${!n-<unset>}"; done';
  const { stdout } = await run(bash, ['-c', script, 'bash', file, ...required], { env: { PATH: '/usr/bin:/bin' } });
  const values = stdout.split('\0').slice(0, -1);
  assert.deepEqual(Object.fromEntries(required.map((name, i) => [name, values[i]])), expected);
  assert.equal(expected['NEGOTIATE_NTLM_USER'], 'KRBTEST\\alice'); // the backslash survived quoting
  assert.ok(existsSync(expected['KRB5RCACHEDIR'] ?? ''));
});

test('the KDC listens on 127.0.0.1 only, TCP and UDP', async () => {
  assert.equal(await connects(realm.kdcPort), true);
  const { stdout } = await run(ss, ['-Hlntu']);
  const locals = stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[4]?.endsWith(`:${realm.kdcPort}`))
    .map((cols) => `${cols[0]} ${cols[4]}`);
  assert.deepEqual(locals.sort(), [`tcp 127.0.0.1:${realm.kdcPort}`, `udp 127.0.0.1:${realm.kdcPort}`]);
});

test('realms made in parallel get their own ports, and destroy() removes one', async () => {
  const [a, b] = await Promise.all([startTestRealm(), startTestRealm()]);
  realms.push(a, b);
  const ports = new Set([realm.kdcPort, a.kdcPort, b.kdcPort]);
  assert.equal(ports.size, 3);
  for (const r of [a, b]) await run(klist, ['-s'], { env: clientEnv(r) });

  const pid = b.kdcPid;
  assert.ok(pid !== undefined);
  await b.destroy();
  assert.equal(existsSync(b.dir), false);
  assert.equal(existsSync(`/proc/${pid}`), false);
  assert.equal(await connects(a.kdcPort), true, 'destroying one realm left the other running');
});

test('load(dir) + stop() ends a detached KDC', async () => {
  const made = await startTestRealm({ detached: true });
  realms.push(made);
  const pid = made.kdcPid;
  assert.ok(pid !== undefined);
  assert.equal((await fs.readFile(path.join(made.dir, 'kdc.pid'), 'utf8')).trim(), String(pid));

  const loaded = await ThrowawayRealm.load(made.dir);
  assert.equal(loaded.kdcPid, pid);
  assert.equal(loaded.kdcPort, made.kdcPort);
  assert.equal(loaded.detached, true);
  assert.deepEqual(loaded.env(), made.env());

  await loaded.stop();
  // The KDC is this process's child, so it is gone from /proc once libuv has reaped it.
  await waitUntil(() => !existsSync(`/proc/${pid}`), `krb5kdc ${pid} to leave /proc`, 2000);
  assert.equal(existsSync(path.join(made.dir, 'kdc.pid')), false);
  assert.equal(await connects(made.kdcPort), false);
  assert.equal(loaded.kdcPid, undefined);
  await loaded.stop(); // idempotent
  await made.stop(); // its KDC is already gone: must not signal anything

  await made.destroy();
  assert.equal(existsSync(made.dir), false);
});

test('create() refuses a non-empty directory with ERR_REALM', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-test-'));
  scratchDirs.push(dir);
  await fs.writeFile(path.join(dir, 'precious'), 'keep me');
  await assert.rejects(ThrowawayRealm.create({ dir }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'ERR_REALM');
    assert.match(err.message, /not empty/);
    return true;
  });
  assert.deepEqual(await fs.readdir(dir), ['precious']);
});

test('kinit() with a wrong password fails with ERR_REALM and the tool output', async () => {
  const wrong = 'not-the-password-7f3a';
  const ccache = path.join(realm.dir, 'ccache.wrong');
  await assert.rejects(realm.kinit(realm.userPrincipal, wrong, ccache), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'ERR_REALM');
    assert.match(err.message, /Password incorrect/);
    assert.ok(!err.message.includes(wrong), 'the password leaked into the message');
    return true;
  });
});
