/**
 * `negotiate-server serve`'s flags: one row each (flagTable.ts says what a row holds), mapped
 * onto NegotiateServer's public options. The parser and --help are generated from these rows;
 * docs/configuration.md documents each (a test checks that every flag is there).
 *
 * To add a flag: add a row to its section (rows apply in table order, so a row may read what an
 * earlier section set, e.g. the HTTP rows read `options.http`), give the public option it maps
 * to its default and validation in options.ts, and a heading in docs/configuration.md.
 */
import { DEFAULT_GREETING } from '../acceptors/sspiProtocol.js';
import {
  DEFAULT_GSS_SAMPLE,
  DEFAULT_HTTP,
  DEFAULT_REPLAY_CACHE_SIZE,
  DEFAULT_SSPI,
  DEFAULT_WS_PATH,
  RANGES,
  type IntRange,
  type ListenAddress,
} from '../config.js';
import { ConfigError } from '../errors.js';
import { ACCEPTOR_SLOTS } from '../pool/credentials.js';
import {
  applyFlags,
  formatFlagHelp,
  parseFlags,
  UsageError,
  type FlagRow,
  type FlagSection,
  type ServeInvocation,
} from './flagTable.js';
import {
  parseListenAddress,
  parseLogLevel,
  parseReplayCache,
  parseRequireFlags,
  parseWholeNumber,
  parseWsPath,
  readCookieKeyFile,
} from './flagValues.js';
import { LIMIT_FLAGS } from './limitFlags.js';
import { AUTHORIZATION_FLAGS } from './authorizationFlags.js';
import { checkTlsFlags, TLS_FLAGS } from './tlsFlags.js';
import { REPLAY_STORE_FLAGS } from './replayStoreFlags.js';
import { BASIC_AUTH_FLAGS } from './basicAuthFlags.js';

const address = (a: ListenAddress): string => `${a.host}:${a.port}`;
const whole = (name: string, value: string, range: IntRange): number => parseWholeNumber(`--${name}`, value, range);

const HELP: FlagRow = { name: 'help', short: 'h', type: 'boolean', help: 'This help', apply: () => undefined };

export const SERVE_FLAGS: readonly FlagSection[] = [
  {
    title: 'Credentials',
    rows: [
      {
        name: 'keytab',
        type: 'string',
        placeholder: 'FILE',
        help:
          'Service keytab. Without it, serve starts an embedded throwaway realm (KRBTEST.COM on loopback) and ' +
          'removes it on exit.',
        apply: (into, v) => void (into.options.credentials.keytab = v),
      },
      {
        name: 'principal',
        type: 'string',
        placeholder: 'NAME',
        default: 'any key in the keytab',
        help: "Accept only this service principal ('host/localhost@REALM' or 'host@localhost').",
        apply: (into, v) => void (into.options.credentials.principal = v),
      },
      // --sspi-principal, --gss-sample-principal, --http-principal: one row per front end.
      ...ACCEPTOR_SLOTS.map((slot): FlagRow => ({
        name: `${slot}-principal`,
        type: 'string',
        placeholder: 'NAME',
        default: '--principal',
        help:
          `The ${slot} front end accepts only this principal${slot === 'http' ? ' (its WebSocket too)' : ''}, over ` +
          `--principal.`,
        apply: (into, v) => {
          if (v.trim() === '') throw new ConfigError('ERR_CONFIG', `--${slot}-principal needs a principal name`);
          into.options.credentials.frontendPrincipals = { ...into.options.credentials.frontendPrincipals, [slot]: v };
        },
      })),
      {
        name: 'ntlm',
        type: 'boolean',
        default: 'off, as NTLM is relayable',
        help: 'Also accept NTLM, raw and through SPNEGO.',
        apply: (into) => void (into.options.credentials.ntlm = true),
      },
      {
        name: 'ntlm-users',
        type: 'string',
        placeholder: 'FILE',
        default: '$NTLM_USER_FILE',
        help: 'gss-ntlmssp users file (DOMAIN:user:password).',
        apply: (into, v) => void (into.options.credentials.ntlmUsers = v),
      },
      {
        name: 'replay-cache',
        type: 'string',
        placeholder: 'MODE',
        default: 'default',
        help:
          "default | memory | none | file:PATH | redis://[user:pass@]host:port[/db] | rediss://... default: MIT's " +
          'file cache; memory: a process-wide in-memory cache instead, faster, forgotten on restart unless journaled ' +
          '(--replay-cache-journal); redis: one ' +
          'cache shared by every server behind a load balancer (see below); none accepts replayed tokens.',
        apply: (into, v) => void (into.options.credentials.replayCache = parseReplayCache(v)),
      },
      {
        name: 'replay-cache-size',
        type: 'string',
        placeholder: 'N',
        default: `${DEFAULT_REPLAY_CACHE_SIZE}: 10,000 handshakes/s at the default 300 s clock skew`,
        help:
          'memory only: most authenticators remembered, 21-43 bytes each; beyond it handshakes are refused, never ' +
          'accepted unchecked. redis: sets the default quota below.',
        apply: (into, v) =>
          void (into.options.credentials.replayCacheSize = whole('replay-cache-size', v, RANGES.replayCacheSize)),
      },
      {
        name: 'replay-cache-principal-quota',
        type: 'string',
        placeholder: 'N',
        default: 'a quarter of --replay-cache-size',
        help:
          'memory: most authenticators one client principal may hold; redis: most it records per 2 x clock skew. ' +
          'Beyond it that principal is refused, others are not.',
        apply: (into, v) =>
          void (into.options.credentials.replayCachePrincipalQuota = whole(
            'replay-cache-principal-quota',
            v,
            RANGES.replayCachePrincipalQuota,
          )),
      },
      {
        name: 'replay-cache-journal',
        type: 'string',
        placeholder: 'DIR',
        default: 'none: memory is forgotten on restart',
        help:
          'memory only: also write every remembered authenticator to DIR and read them back at start, so a ' +
          'restart forgets no replay. DIR must exist, owned by the service user, not group- or world-writable; ' +
          'one server at a time.',
        apply: (into, v) => void (into.options.credentials.replayCacheJournal = v),
      },
      {
        name: 'require-flags',
        type: 'string',
        placeholder: 'LIST',
        default: 'none',
        help:
          'Refuse clients that did not request these context flags (comma-separated: mutual, replay, sequence, ' +
          'integrity, confidentiality, delegation). mutual refuses browsers; replay,sequence make unwrap refuse ' +
          'replayed and reordered messages.',
        apply: (into, v) => void (into.options.credentials.requireFlags = parseRequireFlags(v)),
      },
    ],
  },
  {
    title: 'Listeners (default: all three, on 127.0.0.1; if any listener flag is given, only those given)',
    rows: [
      {
        name: 'sspi',
        type: 'string',
        placeholder: 'HOST:PORT',
        listener: true,
        default: address(DEFAULT_SSPI),
        help: 'Microsoft SSPI-sample framing; port 0 = any free port.',
        apply: (into, v) => void (into.options.tcp.sspi = parseListenAddress('--sspi', v)),
      },
      {
        name: 'gss-sample',
        type: 'string',
        placeholder: 'HOST:PORT',
        listener: true,
        default: address(DEFAULT_GSS_SAMPLE),
        help: 'MIT gss-sample framing.',
        apply: (into, v) => void (into.options.tcp.gssSample = parseListenAddress('--gss-sample', v)),
      },
      {
        name: 'http',
        type: 'string',
        placeholder: 'HOST:PORT',
        listener: true,
        default: address(DEFAULT_HTTP),
        help: 'HTTP Authorization: Negotiate, RFC 4559; GET /whoami answers the authenticated identity as JSON.',
        apply: (into, v) =>
          void (into.options.http = { ...parseListenAddress('--http', v), ws: { path: DEFAULT_WS_PATH } }),
      },
      {
        // Before --ws (rows apply in table order): node drops the WebSocket route the HTTP
        // listener has by default, and an explicit --ws after it is then refused at start.
        name: 'http-engine',
        type: 'string',
        placeholder: 'ENGINE',
        default: 'uws',
        help:
          'uws | node. node: the HTTP listener on node:http through the adapter (no WebSockets; with --ntlm, ' +
          'NTLM over HTTP bound to the connection).',
        apply: (into, v) => {
          const http = into.options.http;
          if (!http) throw new UsageError('--http-engine needs an HTTP listener (--http HOST:PORT)');
          if (v !== 'uws' && v !== 'node')
            throw new ConfigError('ERR_CONFIG', `--http-engine expects uws or node, not ${JSON.stringify(v)}`);
          http.engine = v;
          if (v === 'node') delete http.ws;
        },
      },
      {
        name: 'ws',
        type: 'string',
        placeholder: 'PATH',
        default: DEFAULT_WS_PATH,
        help: 'WebSocket handshakes on the HTTP listener (engine uws only; off with --http-engine node); none: off.',
        apply: (into, v) => {
          const http = into.options.http;
          if (!http) throw new UsageError('--ws needs an HTTP listener (--http HOST:PORT)');
          if (v === 'none') delete http.ws;
          else http.ws = { path: parseWsPath(v) };
        },
      },
      {
        name: 'admin',
        type: 'string',
        placeholder: 'HOST:PORT',
        default: 'off',
        help:
          'Admin listener: GET /metrics (Prometheus), /healthz, /readyz. Not a front end, so it does not turn off ' +
          'the defaults.',
        apply: (into, v) => void (into.options.admin = parseListenAddress('--admin', v)),
      },
    ],
  },
  REPLAY_STORE_FLAGS,
  TLS_FLAGS,
  BASIC_AUTH_FLAGS,
  {
    // Each row here acts only when an HTTP listener is on; the cookie's key and Secure flag only
    // with --session-cookie (the row above them).
    title: 'HTTP sessions',
    rows: [
      {
        name: 'session-cookie',
        type: 'string',
        placeholder: 'SECONDS',
        default: 'off',
        help:
          'After a handshake, set an HMAC-signed cookie valid this long, so the client skips the handshake on ' +
          'later requests.',
        apply: (into, v) => {
          const ttlSeconds = whole('session-cookie', v, RANGES.sessionCookieTtlSeconds);
          if (into.options.http) into.options.http.sessionCookie = { ttlSeconds };
        },
      },
      {
        name: 'cookie-key-file',
        type: 'string',
        placeholder: 'FILE',
        default: 'a random key per start',
        help: 'Cookie keys, one base64 key (>= 32 bytes) per line; the first signs, all verify (rotation).',
        apply: (into, v) => {
          const keys = readCookieKeyFile(v);
          const cookie = into.options.http?.sessionCookie;
          if (cookie) cookie.keys = keys;
        },
      },
      {
        name: 'cookie-secure',
        type: 'boolean',
        help: 'Mark the cookie Secure (the server is behind TLS); implied by --tls-cert.',
        apply: (into) => {
          const cookie = into.options.http?.sessionCookie;
          if (cookie) cookie.secure = true;
        },
      },
      {
        name: 'allow-uws-fallback',
        type: 'boolean',
        help: 'Accepted for compatibility; no effect (this uWS build has no emulation).',
        apply: (into) => {
          if (into.options.http) into.options.http.allowUwsFallback = true;
        },
      },
    ],
  },
  LIMIT_FLAGS,
  AUTHORIZATION_FLAGS,
  {
    title: 'Other',
    rows: [
      {
        name: 'greeting',
        type: 'string',
        placeholder: 'TEXT',
        default: JSON.stringify(DEFAULT_GREETING),
        help: 'sspi: message encrypted to the client after the handshake.',
        apply: (into, v) => {
          if (into.options.tcp.sspi) into.options.tcp.sspi.greeting = v;
        },
      },
      {
        name: 'gss-sample-allow-unauthenticated',
        type: 'boolean',
        default: 'refused, ERR_UNAUTHENTICATED_REFUSED',
        help:
          'gss-sample: serve sessions that open without a security context (gss-client -na), closed at the ' +
          '--handshake-timeout deadline.',
        apply: (into) => {
          if (into.options.tcp.gssSample) into.options.tcp.gssSample.allowUnauthenticated = true;
        },
      },
      {
        name: 'log-level',
        type: 'string',
        placeholder: 'LEVEL',
        default: 'info',
        help: 'debug | info | warn | error | silent.',
        apply: (into, v) => void (into.logLevel = parseLogLevel(v)),
      },
      HELP,
    ],
  },
];

const EPILOGUE = `Signals: SIGTERM/SIGINT shut down (see --shutdown-grace); SIGHUP reloads the keytab (key rotation):
it is read once at start and on each SIGHUP, never behind the server's back; a bad keytab is refused
and the keys in use stay. SIGHUP also re-checks the TLS certificate files; a changed certificate is
logged, not served (uWS cannot swap it): restart to serve it.

stdout: one JSON line per listener, {"event":"listening","frontend":"sspi","address":"127.0.0.1","port":2000}
(frontend: sspi, gss-sample, http, admin; the http line also has "ws":"/ws" when WebSockets are on,
and "tls":true with --tls-cert);
with the embedded realm, first {"event":"realm","envFile":...,"gssClient":...}. Logs: JSON lines on stderr.
Exit codes: 0 after a clean shutdown, 1 on a start-up error, 2 on a usage error.
`;

/** `serve --help`. */
export function serveHelp(): string {
  return `Usage: negotiate-server serve [options]\n\n${formatFlagHelp(SERVE_FLAGS)}\n${EPILOGUE}`;
}

/**
 * Maps `serve`'s arguments onto NegotiateServer options, or 'help'. The CLI's own rule for
 * listeners: all three at their default addresses (HTTP with its WebSocket route) unless a
 * listener flag names some. Throws UsageError or ConfigError (ERR_CONFIG).
 */
export function parseServeFlags(args: string[]): ServeInvocation | 'help' {
  const given = parseFlags(SERVE_FLAGS, args);
  if (given.has(HELP)) return 'help';
  const into: ServeInvocation = { options: { credentials: {}, tcp: {}, limits: {} }, logLevel: 'info' };
  if (![...given.keys()].some((row) => row.listener === true)) {
    into.options.tcp = { sspi: { ...DEFAULT_SSPI }, gssSample: { ...DEFAULT_GSS_SAMPLE } };
    into.options.http = { ...DEFAULT_HTTP, ws: { path: DEFAULT_WS_PATH } };
  }
  applyFlags(SERVE_FLAGS, given, into);
  checkTlsFlags(into);
  return into;
}
