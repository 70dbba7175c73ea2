/**
 * `serve`'s Basic authentication section (serveFlags.ts holds the table): a password fallback
 * for clients that cannot do Kerberos, over TLS only (src/basic/). After the TLS rows.
 */
import { UsageError, type FlagSection } from './flagTable.js';

export const BASIC_AUTH_FLAGS: FlagSection = {
  title: 'Basic authentication (password fallback, over TLS only)',
  rows: [
    {
      name: 'basic-auth',
      type: 'boolean',
      default: 'off',
      help:
        'Also accept Authorization: Basic (user and password), checked by a Kerberos AS exchange whose reply is ' +
        'verified with the service key; 401s then offer Negotiate, then Basic. Failures are rate-limited per user ' +
        'and per address (429). Refused at start without --tls-cert.',
      apply: (into) => {
        const http = into.options.http;
        if (!http) throw new UsageError('--basic-auth needs an HTTP listener (--http HOST:PORT)');
        http.basicAuth = http.basicAuth ?? true;
      },
    },
    {
      name: 'basic-auth-realm',
      type: 'string',
      placeholder: 'NAME',
      default: "the service's Kerberos realm",
      help: 'The realm the Basic challenge names (printable ASCII, no " or \\); needs --basic-auth.',
      apply: (into, v) => {
        const http = into.options.http;
        if (!http?.basicAuth) throw new UsageError('--basic-auth-realm needs --basic-auth');
        http.basicAuth = { realm: v };
      },
    },
  ],
};
