/**
 * HTTPS on the uWS listener: the app the HTTP front end (and the WebSocket route sharing it)
 * runs on, and the channel binding its accept steps give the pool.
 *
 * uWS's SSLApp reads the PEM files once, when the app is made: a running SSLApp cannot change its
 * default certificate. Its SNI contexts (addServerName) could carry a new one, but in this uWS
 * build a connection that selects a server name is routed by that name's own router
 * (app.domain), where none of our routes are; so a new certificate takes a restart (see
 * docs/http.md, "TLS"). The channel binding therefore always names the certificate the app
 * was made with, the one every connection is served.
 */
import type { TemplatedApp } from 'uwebsockets';
import type { ChannelBindingPolicy } from '../tls/channelBindings.js';
import type { TlsCertificate } from '../tls/TlsCertificate.js';
import type { UwsModule } from './uws.js';

/** The HTTP front end's TLS: a checked certificate (loadTlsCertificate) and the channel-binding policy. */
export interface HttpTlsOptions {
  certificate: TlsCertificate;
  /** Default 'when-supported'. */
  channelBinding?: ChannelBindingPolicy | undefined;
}

/** What each accept step of a TLS front end adds to AuthPool.accept's options. */
export interface ChannelAcceptOptions {
  channelBindings?: Uint8Array;
  channelBinding?: ChannelBindingPolicy;
}

/** An SSLApp on the certificate's files when `tls` is given, else a plain App. */
export function createUwsApp(uws: UwsModule, tls: HttpTlsOptions | undefined): TemplatedApp {
  if (tls === undefined) return uws.App();
  return uws.SSLApp({ cert_file_name: tls.certificate.certFile, key_file_name: tls.certificate.keyFile });
}

/**
 * The channel binding of this listener's accept steps: none without TLS; with TLS the
 * certificate's tls-server-end-point, under the policy.
 */
export function channelAcceptOptions(tls: HttpTlsOptions | undefined): ChannelAcceptOptions {
  if (tls === undefined) return {};
  const channelBinding = tls.channelBinding ?? 'when-supported';
  const bindings = tls.certificate.channelBindings;
  return bindings === undefined ? { channelBinding } : { channelBindings: bindings, channelBinding };
}
