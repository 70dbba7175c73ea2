/**
 * `serve`'s HTTPS section (serveFlags.ts holds the table; flagTable.ts what a row holds). Its
 * rows come after the listeners (they read `options.http`) and before the cookie rows.
 */
import { CHANNEL_BINDING_POLICIES, isChannelBindingPolicy } from '../tls/channelBindings.js';
import { UsageError, type FlagSection, type ServeInvocation } from './flagTable.js';
import type { HttpOptions } from '../options.js';

function httpListener(into: ServeInvocation, flag: string): HttpOptions {
  const http = into.options.http;
  if (!http) throw new UsageError(`--${flag} needs an HTTP listener (--http HOST:PORT)`);
  return http;
}

export const TLS_FLAGS: FlagSection = {
  title: 'HTTPS (the HTTP listener and its WebSocket)',
  rows: [
    {
      name: 'tls-cert',
      type: 'string',
      placeholder: 'FILE',
      default: 'plain HTTP',
      help:
        'Serve HTTPS with this PEM certificate (the server certificate first, then intermediates); needs ' +
        '--tls-key. Checked at start; SIGHUP re-checks it (--http-engine node serves a new one at once; uws ' +
        'needs a restart for it). Implies ' +
        '--cookie-secure.',
      apply: (into, v) => {
        const http = httpListener(into, 'tls-cert');
        // keyFile is filled by the next row; parseServeFlags refuses a certificate without one.
        http.tls = { certFile: v, keyFile: http.tls?.keyFile ?? '' };
      },
    },
    {
      name: 'tls-key',
      type: 'string',
      placeholder: 'FILE',
      help: "The certificate's private key, PEM, unencrypted, readable only by the service user.",
      apply: (into, v) => {
        const http = httpListener(into, 'tls-key');
        if (!http.tls) throw new UsageError('--tls-key needs --tls-cert');
        http.tls.keyFile = v;
      },
    },
    {
      name: 'channel-binding',
      type: 'string',
      placeholder: 'MODE',
      default: 'when-supported',
      help:
        'off | when-supported | required: bind handshakes to the TLS certificate (Extended Protection, RFC 5929 ' +
        'tls-server-end-point). A client bound to another certificate (a man in the middle) is always refused, ' +
        'unless off; required also refuses clients that send no binding, and needs --tls-cert.',
      apply: (into, v) => {
        if (!isChannelBindingPolicy(v))
          throw new UsageError(`--channel-binding must be ${CHANNEL_BINDING_POLICIES.join(', ')}, not ${v}`);
        httpListener(into, 'channel-binding').channelBinding = v;
      },
    },
  ],
};

/** After every row applied: a certificate given without its key is a usage error. */
export function checkTlsFlags(into: ServeInvocation): void {
  if (into.options.http?.tls?.keyFile === '') throw new UsageError('--tls-cert needs --tls-key');
}
