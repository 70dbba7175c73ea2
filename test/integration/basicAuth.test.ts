/**
 * Basic authentication over TLS (http.basicAuth, docs/http.md) against a real MIT realm and real
 * clients: curl --basic over HTTPS with --cacert, a raw python https client; a right password
 * (200 and the identity), a wrong one and an unknown user (401), the two challenges in order,
 * the rate limit (429 without a KDC exchange: the KDC's log says so), hostile headers (400/431),
 * the password never in the server's log, plain HTTP refused at start, and a fake KDC (a second
 * realm of the same name, other keys) whose yes for a password the service key does not confirm.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { createLogger } from '../../src/logger.js';
import { NegotiateServer } from '../../src/server.js';
import { resolveServerOptions } from '../../src/options.js';
import { parseServeFlags } from '../../src/cli/serveFlags.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { PYTHON, startTestServer, useRealm, type TestServer, type TestServerOverrides } from '../support/server.js';
import { FIXTURES } from '../support/initiator.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tlsFiles.js';

const curl = requireTool('curl', 'curl');
const CLIENT = path.join(FIXTURES, 'basic_client.py');
const T = { timeout: 60_000 };
const BOB_PASSWORD = 'bob-Secret-42';
const WRONG = 'not-the-Password-7';

/** Every log line the server wrote. */
class Capture extends Writable {
  readonly chunks: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk.toString('utf8'));
    done();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

let realm: ThrowawayRealm;
let cert: TestCertificate;
let ts: TestServer;
const log = new Capture();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `file` with the realm's environment and `input` on stdin (passwords never go in argv). */
function run(file: string, args: string[], input: string | Buffer): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: { ...process.env, ...realm.env() } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** curl --basic over HTTPS; `user:password` through a curl config on stdin. Returns body and status. */
async function curlBasic(port: number, user: string, password: string): Promise<{ status: number; body: string }> {
  const r = await run(
    curl,
    [
      '-s',
      '--basic',
      '--config',
      '-',
      '--cacert',
      cert.certFile,
      '--resolve',
      `localhost:${port}:127.0.0.1`,
      '-w',
      '\n%{http_code}',
      `https://localhost:${port}/whoami`,
    ],
    `user = "${user}:${password}"\n`,
  );
  const at = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(at + 1)), body: r.stdout.slice(0, at) };
}

interface ClientAnswer {
  status: number;
  www_authenticate: string[];
  retry_after: string | null;
  body: unknown;
}

/** The python client: `userPass` (bytes on stdin) or a verbatim header `raw`. */
async function pyClient(port: number, o: { userPass?: Buffer | string; raw?: string }): Promise<ClientAnswer> {
  const args = [CLIENT, 'localhost', String(port), '--cacert', cert.certFile];
  if (o.userPass !== undefined) args.push('--user-pass-stdin');
  if (o.raw !== undefined) args.push('--raw', o.raw);
  const r = await run(PYTHON, args, o.userPass ?? '');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ClientAnswer;
}

/** AS requests the KDC logged for `name`. */
async function asRequests(name: string): Promise<number> {
  const text = await readFile(realm.kdcLog, 'utf8');
  return text.split('\n').filter((l) => l.includes('AS_REQ') && l.includes(`${name}@`)).length;
}

/** A server with HTTPS only and Basic on (the realm's keytab), plus `extra`. */
function startBasicServer(extra: TestServerOverrides = {}): Promise<TestServer> {
  return startTestServer(realm, {
    sspi: undefined,
    gssSample: undefined,
    http: { host: '127.0.0.1', port: 0 },
    httpTls: { certFile: cert.certFile, keyFile: cert.keyFile },
    basicAuth: { realm: undefined },
    ...extra,
  });
}

before(async () => {
  requireTool('openssl', 'openssl');
  realm = await startTestRealm();
  await realm.addPrincipal('bob', { password: BOB_PASSWORD });
  cert = await selfSignedCertificate('localhost');
  ts = await startBasicServer({ logger: createLogger('debug', log) });
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
  await cert?.remove();
});

test('a 401 offers Negotiate first, then Basic with the Kerberos realm', T, async () => {
  const r = await pyClient(ts.httpPort, {});
  assert.equal(r.status, 401);
  assert.deepEqual(r.www_authenticate, ['Negotiate', `Basic realm="${realm.realmName}", charset="UTF-8"`]);
});

test('curl --basic with the right password: 200, the user principal, mech basic, no flags', T, async () => {
  const r = await curlBasic(ts.httpPort, realm.user, realm.password);
  assert.equal(r.status, 200, r.body);
  const body = JSON.parse(r.body) as {
    principal: string;
    mech: string;
    via: string;
    spnego: boolean;
    flags: Record<string, boolean>;
  };
  assert.equal(body.principal, realm.userPrincipal);
  assert.equal(body.mech, 'basic');
  assert.equal(body.via, 'basic');
  assert.equal(body.spnego, false);
  assert.equal(body.flags['mutual'], false);
});

test('the raw python client with user@REALM: 200 as that principal', T, async () => {
  const r = await pyClient(ts.httpPort, { userPass: `${realm.userPrincipal}:${realm.password}` });
  assert.equal(r.status, 200);
  assert.equal((r.body as { principal: string }).principal, realm.userPrincipal);
});

test('a wrong password and an unknown user: 401 with both challenges, the same body', T, async () => {
  const wrong = await pyClient(ts.httpPort, { userPass: `${realm.user}:${WRONG}` });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.www_authenticate.length, 2);
  const unknown = await pyClient(ts.httpPort, { userPass: `nobody:${WRONG}` });
  assert.equal(unknown.status, 401);
  // Which of the two it was is in the log, not told to a guesser.
  assert.equal(unknown.body, wrong.body);
  const c = await curlBasic(ts.httpPort, realm.user, WRONG);
  assert.equal(c.status, 401);
  assert.match(log.text, /ERR_BASIC_BAD_PASSWORD/);
  assert.match(log.text, /ERR_BASIC_UNKNOWN_PRINCIPAL/);
});

test('after 5 failures for a user: 429 with Retry-After, and the KDC is not asked again', T, async () => {
  for (let i = 0; i < 5; i++) {
    const r = await pyClient(ts.httpPort, { userPass: `bob:${WRONG}${i}` });
    assert.equal(r.status, 401);
  }
  const before = await asRequests('bob');
  assert.ok(before >= 5, `the KDC saw ${before} AS requests for bob`);
  const limited = await pyClient(ts.httpPort, { userPass: `bob:${BOB_PASSWORD}` });
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.retry_after) > 0 && Number(limited.retry_after) <= 60, String(limited.retry_after));
  assert.equal(await asRequests('bob'), before, 'a rate-limited attempt reached the KDC');
  // Other users from the same address are not locked out by bob's failures.
  assert.equal((await curlBasic(ts.httpPort, realm.user, realm.password)).status, 200);
});

test('--local-name rules:FILE maps a Basic login as it maps a handshake', T, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'basic-rules-'));
  let mapped: TestServer | undefined;
  try {
    const rules = path.join(dir, 'local-names');
    await writeFile(rules, `${realm.userPrincipal} -> basic_mapped\n`);
    mapped = await startBasicServer({ localName: `rules:${rules}` });
    const r = await curlBasic(mapped.httpPort, realm.user, realm.password);
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as { localName?: string }).localName, 'basic_mapped');
  } finally {
    await mapped?.server.close(0);
    await rm(dir, { recursive: true, force: true });
  }
});

test('hostile Basic headers: 400 or 431, never a KDC exchange', T, async () => {
  const before = await asRequests(realm.user);
  const cases: Array<[string, number]> = [
    ['Basic', 400],
    ['Basic !!!notbase64', 400],
    [`Basic ${Buffer.from('no-colon-here').toString('base64')}`, 400],
    [`Basic ${Buffer.from(':password').toString('base64')}`, 400],
    [`Basic ${Buffer.from(`ali\0ce:${realm.password}`).toString('base64')}`, 400],
    [`Basic ${Buffer.from(`${realm.user}:pass\0word`).toString('base64')}`, 400],
    [`Basic ${Buffer.from(`${realm.user}:${'x'.repeat(5000)}`).toString('base64')}`, 431],
    [`Basic ${Buffer.from(Buffer.from([0xff, 0xfe, 0x3a, 0x41])).toString('base64')}`, 400],
  ];
  for (const [raw, status] of cases) {
    const r = await pyClient(ts.httpPort, { raw });
    assert.equal(r.status, status, `${raw.slice(0, 40)}: ${JSON.stringify(r.body)}`);
  }
  assert.equal(await asRequests(realm.user), before);
});

test('no password ever reaches the log', () => {
  const text = log.text;
  assert.ok(text.length > 0);
  for (const secret of [
    realm.password,
    BOB_PASSWORD,
    WRONG,
    Buffer.from(`${realm.user}:${realm.password}`).toString('base64'),
  ])
    assert.equal(text.includes(secret), false, 'a password (or its base64) is in the log');
  assert.match(text, /"mech":"basic"/);
});

test('plain HTTP: Basic is refused at start (library and CLI)', async () => {
  assert.throws(
    () => resolveServerOptions({ http: { port: 0, basicAuth: true } }),
    (err: Error & { code?: string }) => err.code === 'ERR_CONFIG' && /needs http\.tls/.test(err.message),
  );
  await assert.rejects(NegotiateServer.start({ http: { port: 0, basicAuth: { realm: 'X' } } }), /needs http\.tls/);
  const cli = parseServeFlags(['--http', '127.0.0.1:0', '--basic-auth']);
  assert.notEqual(cli, 'help');
  if (cli !== 'help') assert.throws(() => resolveServerOptions(cli.options), /--basic-auth needs --tls-cert/);
});

test('a fake KDC (same realm name, other keys) says yes to its password: verification refuses it', T, async () => {
  const fake = await startTestRealm({ password: 'fake-KDC-password-1' });
  let fakeServer: TestServer | undefined;
  try {
    assert.equal(fake.realmName, realm.realmName);
    // The server keeps the real service keytab but its krb5.conf points at the fake KDC.
    useRealm(fake);
    fakeServer = await startBasicServer({ logger: createLogger('debug', log) });
    // startTestServer pointed the process at the real realm again: back to the fake one.
    useRealm(fake);
    const r = await pyClient(fakeServer.httpPort, { userPass: `${fake.user}:${fake.password}` });
    assert.equal(r.status, 401);
    assert.ok((await readFile(fake.kdcLog, 'utf8')).includes('AS_REQ'), 'the fake KDC was not asked');
    assert.match(log.text, /ERR_BASIC_VERIFY_FAILED/);
  } finally {
    useRealm(realm);
    await fakeServer?.server.close(0);
    await fake.destroy();
  }
});
