/**
 * `serve --tls-cert/--tls-key/--channel-binding` as an operator meets them: the start-up
 * refusals (exit code and message, nothing on stdout), a real HTTPS listener with its
 * `"tls":true` line, and SIGHUP with a replaced certificate: checked and logged, not served on
 * uWS (it cannot swap it), served at once on the node engine (node:https setSecureContext), whose
 * channel binding then names the new certificate.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { FIXTURES } from '../support/initiator.js';
import { jsonLines, PYTHON, requirePythonGssapi, runClient } from '../support/server.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tlsFiles.js';
import { waitUntil } from '../support/waitUntil.js';

const HTTP_CLIENT = path.join(FIXTURES, 'http_client.py');
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'negotiate-server.js');

let realm: ThrowawayRealm;
let cert: TestCertificate;
let other: TestCertificate;
let server: ChildProcessWithoutNullStreams | undefined;

before(async () => {
  realm = await startTestRealm();
  cert = await selfSignedCertificate('localhost');
  other = await selfSignedCertificate('localhost', { key: 'ec' });
});
after(async () => {
  if (server?.pid !== undefined && server.exitCode === null) server.kill('SIGKILL');
  await realm?.destroy();
  await cert?.remove();
  await other?.remove();
});

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...realm.env(), LC_ALL: 'C' };
  delete e['KRB5CCNAME'];
  return e;
}

/** `serve` with the realm's keytab and one worker; an HTTP listener on a free port unless `listener` names another. */
function serve(
  args: string[],
  listener = ['--http', '127.0.0.1:0'],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'serve', '--keytab', realm.keytab, ...listener, '--workers', '1', ...args],
      { env: env(), timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

test('exit 1, ERR_TLS_CERTIFICATE naming the file: missing, not PEM, the key of another certificate', async () => {
  const notPem = path.join(cert.dir, 'not-pem.der');
  await writeFile(notPem, cert.der);
  const cases: Array<[string[], RegExp]> = [
    [
      ['--tls-cert', '/nonexistent/cert.pem', '--tls-key', cert.keyFile],
      /--tls-cert \/nonexistent\/cert\.pem cannot be read \(ENOENT\)/,
    ],
    [
      ['--tls-cert', cert.certFile, '--tls-key', '/nonexistent/key.pem'],
      /--tls-key \/nonexistent\/key\.pem cannot be read \(ENOENT\)/,
    ],
    [['--tls-cert', notPem, '--tls-key', cert.keyFile], /is not PEM/],
    [['--tls-cert', cert.certFile, '--tls-key', other.keyFile], /is not the key of the certificate/],
  ];
  for (const [args, message] of cases) {
    const r = await serve(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /negotiate-server: ERR_TLS_CERTIFICATE: /);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '', 'nothing listens');
  }
});

test('exit 2: channel binding required without TLS, a certificate without its key or HTTP, a bad mode', async () => {
  const required = await serve(['--channel-binding', 'required']);
  assert.equal(required.code, 2, required.stderr);
  assert.match(required.stderr, /ERR_CONFIG: channel binding required needs TLS on the HTTP listener/);
  const noKey = await serve(['--tls-cert', cert.certFile]);
  assert.equal(noKey.code, 2, noKey.stderr);
  assert.match(noKey.stderr, /--tls-cert needs --tls-key/);
  const bad = await serve(['--channel-binding', 'sometimes']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--channel-binding must be off, when-supported, required, not sometimes/);
  const noHttp = await serve(['--tls-cert', cert.certFile, '--tls-key', cert.keyFile], ['--sspi', '127.0.0.1:0']);
  assert.equal(noHttp.code, 2, noHttp.stderr);
  assert.match(noHttp.stderr, /--tls-cert needs an HTTP listener/);
});

/** A running `serve` with a TLS listener on copies of `cert`'s files (replaceable), once it listens. */
interface TlsServe {
  child: ChildProcessWithoutNullStreams;
  port: number;
  listening: Record<string, unknown> | undefined;
  certFile: string;
  keyFile: string;
  stderr: () => string;
  /** The DER of the certificate a new TLS connection is served. */
  servedDer: () => Promise<Buffer>;
}

async function serveTls(extra: string[]): Promise<TlsServe> {
  const certFile = path.join(cert.dir, `served-${extra.join('')}.pem`);
  const keyFile = path.join(cert.dir, `served-${extra.join('')}.key`);
  await copyFile(cert.certFile, certFile);
  await copyFile(cert.keyFile, keyFile);
  const args = ['--http', '127.0.0.1:0', '--workers', '1', '--tls-cert', certFile, '--tls-key', keyFile, ...extra];
  server = spawn(process.execPath, [BIN, 'serve', '--keytab', realm.keytab, ...args], { env: env() });
  const child = server;
  const events: Array<Record<string, unknown>> = [];
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (l) => events.push(...jsonLines(l)));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitUntil(
    () => events.some((e) => e['event'] === 'listening'),
    () => `the listening line; stderr ${stderr}`,
    30_000,
  );
  const listening = events.find((e) => e['event'] === 'listening');
  const port = Number(listening?.['port']);
  const servedDer = (): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().raw);
        s.end();
      });
      s.on('error', reject);
    });
  return { child, port, listening, certFile, keyFile, stderr: () => stderr, servedDer };
}

async function stop(s: TlsServe): Promise<void> {
  s.child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => s.child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, s.stderr());
}

test('HTTPS: "tls":true; SIGHUP with a replaced certificate logs it, keeps serving the old one', async () => {
  const s = await serveTls([]);
  assert.equal(s.listening?.['tls'], true);
  assert.deepEqual(await s.servedDer(), cert.der);

  // The operator renews the certificate: both files replaced, then SIGHUP.
  await copyFile(other.certFile, s.certFile);
  await copyFile(other.keyFile, s.keyFile);
  s.child.kill('SIGHUP');
  await waitUntil(
    () => /TLS certificate changed on disk/.test(s.stderr()),
    () => `the change logged; stderr ${s.stderr()}`,
    15_000,
  );
  assert.deepEqual(await s.servedDer(), cert.der, 'uWS keeps serving the certificate it started with');

  // A broken pair on SIGHUP is refused; the server goes on.
  await copyFile(cert.certFile, s.certFile);
  s.child.kill('SIGHUP');
  await waitUntil(
    () => /TLS certificate files fail their checks/.test(s.stderr()),
    () => `the refusal logged; stderr ${s.stderr()}`,
    15_000,
  );
  assert.match(s.stderr(), /ERR_TLS_CERTIFICATE/);
  assert.deepEqual(await s.servedDer(), cert.der);
  await stop(s);
});

test('--http-engine node over HTTPS: curl --negotiate -k (GET and HEAD); SIGHUP serves a new certificate', async () => {
  requirePythonGssapi();
  const curl = requireTool('curl', 'curl');
  const s = await serveTls(['--http-engine', 'node']);
  assert.equal(s.listening?.['tls'], true);
  assert.deepEqual(await s.servedDer(), cert.der);
  const curlArgs = (...more: string[]): string[] => [
    '-sk',
    '--negotiate',
    '-u',
    ':',
    '--resolve',
    `localhost:${s.port}:127.0.0.1`,
    '-w',
    '\n%{http_code}',
    ...more,
    `https://localhost:${s.port}/whoami`,
  ];
  const get = await runClient(curl, curlArgs(), realm, 15_000);
  assert.match(get.stdout, /\n200$/, get.stdout + get.stderr);
  assert.equal((JSON.parse(get.stdout.split('\n')[0] ?? '') as { principal: string }).principal, realm.userPrincipal);
  const head = await runClient(curl, curlArgs('-I'), realm, 15_000);
  assert.match(head.stdout, /^HTTP\/1\.1 200/m, head.stdout + head.stderr);
  assert.match(head.stdout, /^content-type: application\/json/im);

  // Renewed on disk, then SIGHUP: new connections are served the new certificate.
  await copyFile(other.certFile, s.certFile);
  await copyFile(other.keyFile, s.keyFile);
  s.child.kill('SIGHUP');
  await waitUntil(
    () => /tls certificate reloaded/.test(s.stderr()),
    () => `the reload logged; stderr ${s.stderr()}`,
    15_000,
  );
  assert.doesNotMatch(s.stderr(), /restart for it/);
  assert.deepEqual(await s.servedDer(), other.der, 'the node engine serves the new certificate');
  // A client bound to the new certificate (the one its connection was served) is accepted and bound.
  const url = `https://localhost:${s.port}/whoami`;
  const right = await runClient(PYTHON, [HTTP_CLIENT, url, '--insecure', '--channel-binding', 'right'], realm);
  const out = JSON.parse(right.stdout.trim() || '{}') as {
    status?: number;
    body?: { flags?: { channelBound?: boolean } };
  };
  assert.equal(right.code, 0, right.stdout + right.stderr);
  assert.equal(out.body?.flags?.channelBound, true);
  const wrong = await runClient(PYTHON, [HTTP_CLIENT, url, '--insecure', '--channel-binding', 'wrong'], realm);
  assert.match(wrong.stdout, /ERR_CHANNEL_BINDING_MISMATCH/);
  await stop(s);
});
