/**
 * The HTTP listener's TLS options checked and resolved: the certificate/key pair (both or
 * neither) and the channel-binding policy, which `required` makes meaningless without TLS.
 */
import { ConfigError } from '../errors.js';
import { optionalString, section } from '../optionChecks.js';
import { TLS_KEYS, type TlsOptions } from '../serverOptions.js';
import { CHANNEL_BINDING_POLICIES, isChannelBindingPolicy, type ChannelBindingPolicy } from './channelBindings.js';
import type { TlsFiles } from './TlsCertificate.js';

export function tlsFiles(http: { tls?: TlsOptions } | undefined): TlsFiles | undefined {
  if (http?.tls === undefined) return undefined;
  const tls = section('http.tls', http.tls, TLS_KEYS);
  const certFile = optionalString('http.tls.certFile', tls.certFile);
  const keyFile = optionalString('http.tls.keyFile', tls.keyFile);
  if (certFile === undefined || keyFile === undefined)
    throw new ConfigError('ERR_CONFIG', 'http.tls needs both certFile and keyFile (--tls-cert and --tls-key)');
  return { certFile, keyFile };
}

export function channelBindingPolicy(value: unknown, tls: TlsFiles | undefined): ChannelBindingPolicy {
  if (value === undefined) return 'when-supported';
  if (typeof value !== 'string' || !isChannelBindingPolicy(value)) {
    throw new ConfigError(
      'ERR_CONFIG',
      `http.channelBinding must be ${CHANNEL_BINDING_POLICIES.join(', ')}, not ${JSON.stringify(value)}`,
    );
  }
  if (value === 'required' && tls === undefined) {
    throw new ConfigError(
      'ERR_CONFIG',
      'channel binding required needs TLS on the HTTP listener (--tls-cert and --tls-key, or http.tls): ' +
        'without a TLS channel there is nothing to bind, and every client would be refused',
    );
  }
  return value;
}
