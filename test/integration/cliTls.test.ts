/**
 * `serve --tls-cert/--tls-key/--channel-binding` as an operator meets them: the start-up
 * refusals (exit code and message, nothing on stdout), a real HTTPS listener with its
 * `"tls":true` line, and SIGHUP with a replaced certificate (checked, logged, not served: uWS
 * cannot swap it).
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
import { startTestRealm } from '../support/realm.js';
import { jsonLines } from '../support/server.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tlsFiles.js';
import { waitUntil } from '../support/waitUntil.js';

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

test('HTTPS: "tls":true; SIGHUP with a replaced certificate logs it, keeps serving the old one', async () => {
  const certFile = path.join(cert.dir, 'served.pem');
  const keyFile = path.join(cert.dir, 'served.key');
  await copyFile(cert.certFile, certFile);
  await copyFile(cert.keyFile, keyFile);
  server = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--keytab',
      realm.keytab,
      '--http',
      '127.0.0.1:0',
      '--workers',
      '1',
      '--tls-cert',
      certFile,
      '--tls-key',
      keyFile,
    ],
    { env: env() },
  );
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
  assert.equal(listening?.['tls'], true);
  const port = Number(listening?.['port']);
  const servedDer = (): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().raw);
        s.end();
      });
      s.on('error', reject);
    });
  assert.deepEqual(await servedDer(), cert.der);

  // The operator renews the certificate: both files replaced, then SIGHUP.
  await copyFile(other.certFile, certFile);
  await copyFile(other.keyFile, keyFile);
  child.kill('SIGHUP');
  await waitUntil(
    () => /TLS certificate changed on disk/.test(stderr),
    () => `the change logged; stderr ${stderr}`,
    15_000,
  );
  assert.deepEqual(await servedDer(), cert.der, 'uWS keeps serving the certificate it started with');

  // A broken pair on SIGHUP is refused; the server goes on.
  await copyFile(cert.certFile, certFile);
  child.kill('SIGHUP');
  await waitUntil(
    () => /TLS certificate files fail their checks/.test(stderr),
    () => `the refusal logged; stderr ${stderr}`,
    15_000,
  );
  assert.match(stderr, /ERR_TLS_CERTIFICATE/);
  assert.deepEqual(await servedDer(), cert.der);

  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, stderr);
});
