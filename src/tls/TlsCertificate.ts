/**
 * The server's TLS certificate and key (PEM files), checked with node:crypto before a TLS
 * listener is given them: uWS's SSLApp reads the files itself and, when they are unreadable, not
 * PEM or not a pair, starts a listener whose handshakes all fail, with nothing said. Also
 * computes the certificate's channel binding (channelBindings.ts) once.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { tlsServerEndPoint } from './channelBindings.js';

/** PEM files: the certificate (the server's first, then any intermediates) and its unencrypted key. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** A certificate and key that were read, parsed and found to be a pair. */
export interface TlsCertificate extends TlsFiles {
  /** The server's certificate (the first of the file), DER. */
  readonly der: Buffer;
  /** SHA-256 fingerprint, `AB:CD:...`: how logs name the certificate. */
  readonly fingerprint256: string;
  readonly subject: string;
  /** When it stops being valid (ms since the epoch). */
  readonly validTo: number;
  /**
   * Its tls-server-end-point channel-binding application data, or undefined when RFC 5929
   * defines none for it (a signature with no single hash, such as Ed25519): `bindingUnavailable`
   * then says why.
   */
  readonly channelBindings: Buffer | undefined;
  readonly bindingUnavailable?: string;
}

/** The PEM contents a node:tls context is made from (kept apart from TlsCertificate: the key stays private). */
export interface TlsPem {
  cert: Buffer;
  key: Buffer;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PEM_PRIVATE_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/**
 * Reads and checks `files`. Throws ConfigError ERR_TLS_CERTIFICATE naming the file and the
 * fix: unreadable, not PEM, not a certificate or key, an encrypted key, or a key that is not the
 * certificate's.
 */
export async function loadTlsCertificate(files: TlsFiles): Promise<TlsCertificate> {
  return (await loadTlsKeyPair(files)).certificate;
}

/**
 * loadTlsCertificate, with the PEM contents that were checked: what a node:https server is
 * given, so it serves exactly the pair that passed (no second read of files being replaced).
 */
export async function loadTlsKeyPair(files: TlsFiles): Promise<{ certificate: TlsCertificate; pem: TlsPem }> {
  const certPem = await readPem(files.certFile, '--tls-cert', PEM_CERTIFICATE, 'CERTIFICATE');
  const keyPem = await readPem(files.keyFile, '--tls-key', PEM_PRIVATE_KEY, 'PRIVATE KEY');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw refusal(`--tls-cert ${files.certFile} is not a valid X.509 certificate (${(err as Error).message})`, err);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(keyPem.toString('latin1'));
    throw refusal(
      encrypted
        ? `--tls-key ${files.keyFile} is encrypted; give an unencrypted key (openssl pkey -in ENCRYPTED -out KEY), ` +
            'readable only by the service user'
        : `--tls-key ${files.keyFile} is not a valid private key (${(err as Error).message})`,
      err,
    );
  }
  if (!cert.checkPrivateKey(key)) {
    throw refusal(
      `--tls-key ${files.keyFile} is not the key of the certificate in --tls-cert ${files.certFile} ` +
        `(${cert.subject.replace(/\n/g, ', ')}); give the pair that was issued together`,
    );
  }
  let channelBindings: Buffer | undefined;
  let bindingUnavailable: string | undefined;
  try {
    channelBindings = tlsServerEndPoint(cert.raw);
  } catch (err) {
    bindingUnavailable = (err as Error).message;
  }
  const certificate: TlsCertificate = {
    certFile: files.certFile,
    keyFile: files.keyFile,
    der: cert.raw,
    fingerprint256: cert.fingerprint256,
    subject: cert.subject.replace(/\n/g, ', '),
    validTo: Date.parse(cert.validTo),
    channelBindings,
    ...(bindingUnavailable === undefined ? {} : { bindingUnavailable }),
  };
  return { certificate, pem: { cert: certPem, key: keyPem } };
}

async function readPem(file: string, flag: string, marker: RegExp, what: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw refusal(
      `${flag} ${file} cannot be read (${code}): check the path, and that the service user can read it`,
      err,
    );
  }
  if (!marker.test(bytes.toString('latin1'))) {
    throw refusal(
      `${flag} ${file} is not PEM (no "-----BEGIN ${what}-----" line); convert DER with openssl ` +
        `${what === 'CERTIFICATE' ? 'x509' : 'pkey'} -inform DER -in FILE -out FILE.pem`,
    );
  }
  return bytes;
}

function refusal(message: string, cause?: unknown): ConfigError {
  return new ConfigError('ERR_TLS_CERTIFICATE', message, cause === undefined ? undefined : { cause });
}
