/**
 * tlsServerEndPoint (RFC 5929 section 4.1) and loadTlsCertificate on throwaway certificates made
 * by the openssl CLI: the hash follows the signature algorithm, SHA-256 replaces SHA-1, and bad
 * files are refused with ERR_TLS_CERTIFICATE before any listener sees them.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { certificateHashName, tlsServerEndPoint } from '../../src/tls/channelBindings.js';
import { loadTlsCertificate } from '../../src/tls/TlsCertificate.js';
import { NegotiateError } from '../../src/errors.js';
import { selfSignedCertificate, type CertificateOptions, type TestCertificate } from '../support/tlsFiles.js';

const made: TestCertificate[] = [];
after(() => Promise.all(made.map((c) => c.remove())));

async function certificate(o: CertificateOptions = {}): Promise<TestCertificate> {
  const c = await selfSignedCertificate('localhost', o);
  made.push(c);
  return c;
}

const cases: Array<[CertificateOptions, string]> = [
  [{ key: 'rsa', digest: 'sha256' }, 'sha256'],
  [{ key: 'rsa', digest: 'sha384' }, 'sha384'],
  [{ key: 'rsa', digest: 'sha512' }, 'sha512'],
  // RFC 5929: MD5 and SHA-1 are replaced by SHA-256.
  [{ key: 'rsa', digest: 'sha1' }, 'sha256'],
  [{ key: 'ec', digest: 'sha256' }, 'sha256'],
  [{ key: 'ec', digest: 'sha384' }, 'sha384'],
];

for (const [options, hash] of cases) {
  test(`${options.key} signed with ${options.digest}: tls-server-end-point uses ${hash}`, async () => {
    const c = await certificate(options);
    // The signature algorithm as openssl names it, so the case is what it claims to be.
    const text = execFileSync('openssl', ['x509', '-in', c.certFile, '-noout', '-text']).toString();
    assert.match(text, new RegExp(`Signature Algorithm: \\S*${options.digest ?? 'sha256'}`, 'i'));
    assert.equal(certificateHashName(c.der), hash);
    const expected = Buffer.concat([Buffer.from('tls-server-end-point:'), createHash(hash).update(c.der).digest()]);
    assert.deepEqual(tlsServerEndPoint(c.der), expected);
  });
}

test('RSASSA-PSS takes the hash from its parameters', async () => {
  const c = await certificate();
  const pss = path.join(c.dir, 'pss.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      path.join(c.dir, 'pss.key'),
      '-out',
      pss,
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-sha384',
      '-sigopt',
      'rsa_padding_mode:pss',
    ],
    { stdio: 'ignore' },
  );
  const der = (await loadTlsCertificate({ certFile: pss, keyFile: path.join(c.dir, 'pss.key') })).der;
  assert.equal(certificateHashName(der), 'sha384');
});

test('Ed25519 has no tls-server-end-point (no single hash): ERR_TLS_CERTIFICATE, and the loader says why', async () => {
  const c = await certificate();
  const certFile = path.join(c.dir, 'ed.pem');
  const keyFile = path.join(c.dir, 'ed.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ed25519',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
    ],
    { stdio: 'ignore' },
  );
  const loaded = await loadTlsCertificate({ certFile, keyFile });
  assert.equal(loaded.channelBindings, undefined);
  assert.match(loaded.bindingUnavailable ?? '', /no single hash/);
  assert.throws(
    () => tlsServerEndPoint(loaded.der),
    (e: unknown) => e instanceof NegotiateError && e.code === 'ERR_TLS_CERTIFICATE',
  );
});

test('loadTlsCertificate: a good pair gives its DER, fingerprint and binding', async () => {
  const c = await certificate();
  const loaded = await loadTlsCertificate({ certFile: c.certFile, keyFile: c.keyFile });
  assert.deepEqual(loaded.der, c.der);
  assert.deepEqual(loaded.channelBindings, tlsServerEndPoint(c.der));
  assert.match(loaded.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.match(loaded.subject, /CN=localhost/);
});

test('loadTlsCertificate refuses, naming the file: unreadable, not PEM, swapped, encrypted, another key', async () => {
  const c = await certificate();
  const o = await certificate({ key: 'ec' });
  const der = path.join(c.dir, 'cert.der');
  await writeFile(der, c.der);
  const encrypted = path.join(c.dir, 'encrypted.key');
  execFileSync('openssl', ['pkey', '-in', c.keyFile, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
  const refusals: Array<[string, string, RegExp]> = [
    ['/nonexistent/c.pem', c.keyFile, /--tls-cert \/nonexistent\/c\.pem cannot be read \(ENOENT\)/],
    [der, c.keyFile, /--tls-cert .*cert\.der is not PEM/],
    [c.keyFile, c.certFile, /--tls-cert .*key\.pem is not PEM/],
    [c.certFile, encrypted, /--tls-key .*encrypted\.key is encrypted/],
    [c.certFile, o.keyFile, /is not the key of the certificate in --tls-cert/],
  ];
  for (const [certFile, keyFile, message] of refusals) {
    await assert.rejects(loadTlsCertificate({ certFile, keyFile }), (e: unknown) => {
      assert.ok(e instanceof NegotiateError);
      assert.equal(e.code, 'ERR_TLS_CERTIFICATE');
      assert.match(e.message, message);
      return true;
    });
  }
});
