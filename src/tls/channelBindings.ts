/**
 * TLS channel bindings for Negotiate (Extended Protection): RFC 5929's `tls-server-end-point`,
 * the one binding HTTP clients compute for GSSAPI/SSPI (Windows, Chromium, curl, python-gssapi
 * callers). It names the server's certificate, so a token a client bound to its TLS connection
 * with us cannot be replayed over another TLS connection (a man in the middle's, or a
 * TLS-terminating proxy's) without the acceptor noticing.
 *
 * Shared by every TLS front end (the uWS SSLApp listener and the node:https adapter): each
 * computes the application data once per certificate and hands it to `AuthPool.accept` as
 * `channelBindings`, with the policy as `channelBinding`.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { ConfigError } from '../errors.js';

/** What the acceptor does with the TLS channel's bindings; `--channel-binding`. */
export const CHANNEL_BINDING_POLICIES = ['off', 'when-supported', 'required'] as const;

/**
 * - `off`: no bindings are given to GSSAPI; a client's are ignored.
 * - `when-supported`: bindings are given; a client that sent none is accepted, one whose bindings
 *   are for another certificate is refused (ERR_CHANNEL_BINDING_MISMATCH).
 * - `required`: as `when-supported`, and a client that sent none is refused too
 *   (ERR_CHANNEL_BINDING_REQUIRED).
 */
export type ChannelBindingPolicy = (typeof CHANNEL_BINDING_POLICIES)[number];

export function isChannelBindingPolicy(value: string): value is ChannelBindingPolicy {
  return (CHANNEL_BINDING_POLICIES as readonly string[]).includes(value);
}

/** The prefix RFC 5929 section 4 puts before the certificate hash. */
export const TLS_SERVER_END_POINT_PREFIX = 'tls-server-end-point:';

/**
 * The hash of each signature algorithm that uses a single one, by OID. RFC 5929 section 4.1:
 * MD5 and SHA-1 are replaced by SHA-256; an algorithm with no single hash (Ed25519, Ed448) has
 * no tls-server-end-point binding.
 */
const SIGNATURE_HASHES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.113549.1.1.4', 'sha256'], // md5WithRSAEncryption
  ['1.2.840.113549.1.1.5', 'sha256'], // sha1WithRSAEncryption
  ['1.2.840.113549.1.1.14', 'sha224'],
  ['1.2.840.113549.1.1.11', 'sha256'],
  ['1.2.840.113549.1.1.12', 'sha384'],
  ['1.2.840.113549.1.1.13', 'sha512'],
  ['1.2.840.10045.4.1', 'sha256'], // ecdsa-with-SHA1
  ['1.2.840.10045.4.3.1', 'sha224'],
  ['1.2.840.10045.4.3.2', 'sha256'],
  ['1.2.840.10045.4.3.3', 'sha384'],
  ['1.2.840.10045.4.3.4', 'sha512'],
  ['1.2.840.10040.4.3', 'sha256'], // dsa-with-sha1
  ['2.16.840.1.101.3.4.3.1', 'sha224'],
  ['2.16.840.1.101.3.4.3.2', 'sha256'],
]);

const RSASSA_PSS = '1.2.840.113549.1.1.10';

/** PSS's hashAlgorithm OIDs (RFC 4055); absent means SHA-1 (its DEFAULT), so SHA-256 here. */
const PSS_HASHES: ReadonlyMap<string, string> = new Map([
  ['1.3.14.3.2.26', 'sha256'], // sha1
  ['2.16.840.1.101.3.4.2.4', 'sha224'],
  ['2.16.840.1.101.3.4.2.1', 'sha256'],
  ['2.16.840.1.101.3.4.2.2', 'sha384'],
  ['2.16.840.1.101.3.4.2.3', 'sha512'],
]);

/**
 * The `tls-server-end-point` channel-binding application data for a server certificate (DER):
 * `"tls-server-end-point:"` followed by the certificate's hash, the hash being the one of its
 * signature algorithm (SHA-256 when that is MD5 or SHA-1). Throws ConfigError
 * (ERR_TLS_CERTIFICATE) for something that is not a certificate, or whose signature algorithm
 * has no single hash (Ed25519, Ed448: RFC 5929 defines no binding for them).
 */
export function tlsServerEndPoint(certDer: Buffer): Buffer {
  const hash = certificateHashName(certDer);
  return Buffer.concat([Buffer.from(TLS_SERVER_END_POINT_PREFIX, 'ascii'), createHash(hash).update(certDer).digest()]);
}

/** The hash tls-server-end-point uses for this certificate (a node:crypto name such as 'sha256'). */
export function certificateHashName(certDer: Buffer): string {
  try {
    // Parses the whole certificate: anything that is not one fails here with OpenSSL's reason.
    new X509Certificate(certDer);
  } catch (err) {
    throw new ConfigError('ERR_TLS_CERTIFICATE', `not an X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
  const algorithm = signatureAlgorithm(certDer);
  if (algorithm.oid === RSASSA_PSS)
    return PSS_HASHES.get(pssHashOid(algorithm.parameters)) ?? unsupported('RSASSA-PSS with this hash');
  return SIGNATURE_HASHES.get(algorithm.oid) ?? unsupported(`signature algorithm ${algorithm.oid}`);
}

function unsupported(what: string): never {
  throw new ConfigError(
    'ERR_TLS_CERTIFICATE',
    `the certificate's ${what} has no single hash, so RFC 5929 defines no tls-server-end-point channel binding ` +
      'for it: use an RSA or ECDSA certificate, or --channel-binding off',
  );
}

/** One DER element: its tag, and where its contents start and end in the buffer. */
interface Der {
  tag: number;
  start: number;
  end: number;
}

function readDer(buf: Buffer, at: number, limit: number): Der {
  if (at + 2 > limit) throw malformed();
  const tag = buf[at] ?? 0;
  let len = buf[at + 1] ?? 0;
  let start = at + 2;
  if (len & 0x80) {
    const bytes = len & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > limit) throw malformed();
    len = 0;
    for (let i = 0; i < bytes; i++) len = len * 256 + (buf[start + i] ?? 0);
    start += bytes;
  }
  if (start + len > limit) throw malformed();
  return { tag, start, end: start + len };
}

function malformed(): ConfigError {
  return new ConfigError('ERR_TLS_CERTIFICATE', 'malformed certificate DER');
}

function oidText(buf: Buffer, el: Der): string {
  if (el.tag !== 0x06 || el.end <= el.start) throw malformed();
  const first = buf[el.start] ?? 0;
  const parts = [Math.floor(Math.min(first, 80) / 40), first - 40 * Math.floor(Math.min(first, 80) / 40)];
  let n = 0;
  for (let i = el.start + 1; i < el.end; i++) {
    const b = buf[i] ?? 0;
    n = n * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signature }. */
function signatureAlgorithm(der: Buffer): { oid: string; parameters: { buf: Buffer; el: Der } | undefined } {
  const cert = readDer(der, 0, der.length);
  if (cert.tag !== 0x30) throw malformed();
  const tbs = readDer(der, cert.start, cert.end);
  const alg = readDer(der, tbs.end, cert.end);
  if (alg.tag !== 0x30) throw malformed();
  const oid = readDer(der, alg.start, alg.end);
  const parameters = oid.end < alg.end ? { buf: der, el: readDer(der, oid.end, alg.end) } : undefined;
  return { oid: oidText(der, oid), parameters };
}

/** RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, ... }. */
function pssHashOid(parameters: { buf: Buffer; el: Der } | undefined): string {
  const sha1 = '1.3.14.3.2.26';
  if (parameters === undefined || parameters.el.tag !== 0x30) return sha1;
  const { buf, el } = parameters;
  if (el.start >= el.end) return sha1;
  const first = readDer(buf, el.start, el.end);
  if (first.tag !== 0xa0) return sha1;
  const hashAlg = readDer(buf, first.start, first.end);
  return oidText(buf, readDer(buf, hashAlg.start, hashAlg.end));
}
