/**
 * The HTTP listener's certificate as NegotiateServer takes it, at start and on a SIGHUP reload:
 * read and checked (TlsCertificate.ts), refused under `required` when RFC 5929 gives it no
 * binding (every client would be refused), and logged as the one served.
 */
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ChannelBindingPolicy } from './channelBindings.js';
import { loadTlsKeyPair, type TlsCertificate, type TlsFiles, type TlsPem } from './TlsCertificate.js';

/**
 * Reads and checks `files`; rejects with ConfigError ERR_TLS_CERTIFICATE (the reason) for a bad
 * pair, or for a certificate without a binding under `required`. Logs nothing.
 */
export async function loadListenerCertificate(
  files: TlsFiles,
  policy: ChannelBindingPolicy,
): Promise<{ certificate: TlsCertificate; pem: TlsPem }> {
  const loaded = await loadTlsKeyPair(files);
  const unavailable = loaded.certificate.bindingUnavailable;
  if (unavailable !== undefined && policy === 'required') throw new ConfigError('ERR_TLS_CERTIFICATE', unavailable);
  return loaded;
}

/** The `tls` log line of the certificate now served, after a warning when it binds no client. */
export function logServedCertificate(certificate: TlsCertificate, policy: ChannelBindingPolicy, logger: Logger): void {
  if (certificate.bindingUnavailable !== undefined && policy !== 'off') {
    logger.warn('no channel binding for this TLS certificate: clients are not bound to it', {
      reason: certificate.bindingUnavailable,
    });
  }
  logger.info('tls', {
    frontend: 'http',
    subject: certificate.subject,
    fingerprint256: certificate.fingerprint256,
    channelBinding: certificate.channelBindings === undefined ? 'off' : policy,
  });
}
