/**
 * Throwaway TLS certificates for tests, made with the openssl CLI (node:crypto cannot issue
 * certificates): a self-signed one per call, with its PEM files in a new temporary directory.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from './realm.js';

const run = promisify(execFile);

export interface TestCertificate {
  dir: string;
  certFile: string;
  keyFile: string;
  /** The certificate in DER. */
  der: Buffer;
  /** Removes `dir`. */
  remove(): Promise<void>;
}

export interface CertificateOptions {
  /** Default 'rsa' (2048 bits); 'ec' is P-256; 'ed25519' signs with no separate hash (RFC 5929: no binding). */
  key?: 'rsa' | 'ec' | 'ed25519';
  /** The signature's hash. Default 'sha256'. */
  digest?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
}

/** A self-signed certificate for `hostname` (its CN and only DNS subjectAltName), valid for a day. */
export async function selfSignedCertificate(hostname: string, o: CertificateOptions = {}): Promise<TestCertificate> {
  const openssl = requireTool('openssl', 'openssl');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const newkey =
    o.key === 'ec'
      ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']
      : o.key === 'ed25519'
        ? ['-newkey', 'ed25519']
        : ['-newkey', 'rsa:2048'];
  // Ed25519 takes no digest option.
  const digest = o.key === 'ed25519' ? [] : [`-${o.digest ?? 'sha256'}`];
  try {
    await run(openssl, [
      'req',
      '-x509',
      ...newkey,
      '-nodes',
      ...digest,
      '-days',
      '1',
      '-subj',
      `/CN=${hostname}`,
      '-addext',
      `subjectAltName=DNS:${hostname}`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const der = new X509Certificate(await readFile(certFile)).raw;
  return { dir, certFile, keyFile, der, remove: () => rm(dir, { recursive: true, force: true }) };
}
