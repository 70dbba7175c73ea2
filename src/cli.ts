/**
 * The `negotiate-server` command line. Its contract is relied on by users' scripts: the
 * commands, flags, the JSON lines on stdout and the exit codes only ever grow compatibly.
 *
 *   negotiate-server serve [options]       serve; no --keytab = embedded throwaway realm
 *   negotiate-server realm up DIR          create and start a throwaway realm, leave it running
 *   negotiate-server realm down DIR        stop it
 *
 * stdout carries only JSON event lines; logs go to stderr.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_GSS_SAMPLE,
  DEFAULT_LIMITS,
  DEFAULT_HTTP,
  DEFAULT_SSPI,
  DEFAULT_WS_PATH,
  parseCookieKeys,
  parseWsPath,
  parseListenAddress,
  parseLogLevel,
  parsePositiveInt,
  parseReplayCache,
  parseRequireFlags,
  type ServeConfig,
} from './config.js';
import { ConfigError, NegotiateError } from './errors.js';
import { createLogger } from './logger.js';
import { isAdDomainDir, ThrowawayAdDomain, ThrowawayRealm } from './realm/index.js';
import { NegotiateServer } from './server.js';
import { DEFAULT_GREETING } from './acceptors/sspiProtocol.js';
import { ACCEPTOR_SLOTS, type AcceptorSlot } from './pool/credentials.js';

const MAIN_HELP = `Usage: negotiate-server <command> [options]

Commands:
  serve              Accept Negotiate (SPNEGO: Kerberos, optionally NTLM) handshakes over TCP.
                     Without --keytab it starts a throwaway Kerberos realm and serves it.
  realm up DIR       Create a throwaway Kerberos realm in DIR, start its KDC, write DIR/env, exit.
                     --kind ad: a throwaway Active Directory domain instead (Samba, needs root).
  realm down DIR     Stop the realm's KDC.

Run 'negotiate-server <command> --help' for a command's options.
`;

const SERVE_HELP = `Usage: negotiate-server serve [options]

Credentials:
  --keytab FILE              Service keytab. Without it, serve starts an embedded throwaway realm
                             (KRBTEST.COM on loopback) and removes it on exit.
  --principal NAME           Accept only this service principal ('host/localhost@REALM' or
                             'host@localhost'). Default: any key in the keytab.
  --sspi-principal NAME, --gss-sample-principal NAME, --http-principal NAME
                             This front end accepts only this principal, over --principal (the
                             HTTP one covers its WebSocket): e.g. only HTTP/ tickets on HTTP
  --ntlm                     Also accept NTLM, raw and through SPNEGO (off: NTLM is relayable).
  --ntlm-users FILE          gss-ntlmssp users file (DOMAIN:user:password). Default: $NTLM_USER_FILE.
  --replay-cache MODE        default | memory | none | file:PATH   (default: MIT's default file
                             cache; memory: a process-wide in-memory cache instead of MIT's file,
                             faster, forgotten on restart; none accepts replayed tokens)
  --replay-cache-size N      memory only: most authenticators remembered, 21-43 bytes each; beyond
                             it handshakes are refused, never accepted unchecked (default 8000000:
                             10,000 handshakes/s at the default 300 s clock skew)
  --replay-cache-principal-quota N
                             memory only: most authenticators one client principal may hold;
                             beyond it that principal is refused, others are not (default: a
                             quarter of --replay-cache-size)
  --require-flags LIST       Refuse clients that did not request these context flags (comma-
                             separated: mutual, replay, sequence, integrity, confidentiality,
                             delegation; default: none). mutual refuses browsers; replay,sequence
                             make unwrap refuse replayed and reordered messages

Listeners (default: all three, on 127.0.0.1; if any listener flag is given, only those given):
  --sspi HOST:PORT           Microsoft SSPI-sample framing (default 127.0.0.1:2000; port 0 = any free)
  --gss-sample HOST:PORT     MIT gss-sample framing (default 127.0.0.1:4444)
  --http HOST:PORT           HTTP Authorization: Negotiate, RFC 4559 (default 127.0.0.1:8080);
                             GET /whoami answers the authenticated identity as JSON
  --ws PATH                  WebSocket handshakes on the HTTP listener (default /ws; none: off)
  --admin HOST:PORT          Admin listener: GET /metrics (Prometheus), /healthz, /readyz
                             (default: off; not a front end, so it does not turn off the defaults)

HTTP sessions:
  --session-cookie SECONDS   After a handshake, set an HMAC-signed cookie valid this long, so
                             the client skips the handshake on later requests (default: off)
  --cookie-key-file FILE     Cookie keys, one base64 key (>= 32 bytes) per line; the first signs,
                             all verify (rotation). Default: a random key per start
  --cookie-secure            Mark the cookie Secure (the server is behind TLS)
  --allow-uws-fallback       Accepted for compatibility; no effect (this uWS build has no emulation)

Limits:
  --workers N                Worker threads running GSSAPI calls (default: CPU count)
  --max-queue N              Calls waiting for a worker (beyond one running per worker) before
                             new ones fail fast (default 1024)
  --task-timeout MS          A GSSAPI task running longer fails, its worker is replaced (default 5000)
  --max-contexts N           Security contexts alive at once (default 100000)
  --max-handshakes-per-address N
                             Handshakes one remote address may hold between legs (NTLM), over
                             sspi, gss-sample and WebSocket; beyond it a leg 1 is refused,
                             ERR_HANDSHAKES_PER_ADDRESS (default: a tenth of --max-contexts)
  --max-token BYTES          Largest frame accepted, checked before allocation (default 65536)
  --handshake-timeout MS     Deadline for a whole handshake (default 10000)
  --idle-timeout MS          Close connections silent this long (default 60000)
  --max-connections N        Simultaneous connections per listener, HTTP with its WebSockets
                             included (default 10000, lowered to fit the file-descriptor
                             limit; a value given here that does not fit refuses to start)
  --shutdown-grace MS        On SIGTERM/SIGINT, time given to handshakes in flight (default 5000)
                             SIGHUP reloads the keytab (key rotation): read once at start and on
                             each SIGHUP, never behind the server's back; a bad keytab is refused
                             and the keys in use stay

Other:
  --greeting TEXT            sspi: message encrypted to the client after the handshake
                             (default "${DEFAULT_GREETING}")
  --gss-sample-allow-unauthenticated
                             gss-sample: serve sessions that open without a security context
                             (gss-client -na), closed at the --handshake-timeout deadline
                             (default: refused, ERR_UNAUTHENTICATED_REFUSED)
  --log-level LEVEL          debug | info | warn | error | silent (default info)
  -h, --help                 This help

stdout: one JSON line per listener, {"event":"listening","frontend":"sspi","address":"127.0.0.1","port":2000}
(frontend: sspi, gss-sample, http, admin; the http line also has "ws":"/ws" when WebSockets are on);
with the embedded realm, first {"event":"realm","envFile":...,"gssClient":...}. Logs: JSON lines on stderr.
Exit codes: 0 after a clean shutdown, 1 on a start-up error, 2 on a usage error.
`;

const REALM_HELP = `Usage: negotiate-server realm up DIR
       negotiate-server realm up --kind ad [--groups N] DIR
       negotiate-server realm down DIR

'up' creates a throwaway MIT Kerberos realm (KRBTEST.COM) in DIR (which must be empty or absent):
krb5.conf, kdc.conf, a database, a KDC on a free 127.0.0.1 port left running, service principals
host/localhost and HTTP/localhost in DIR/keytab, user alice with a TGT in DIR/ccache, and an NTLM
users file. It writes DIR/env (mode 0600) with export lines for KRB5_CONFIG, KRB5CCNAME,
KRB5_KTNAME, NTLM_USER_FILE, NEGOTIATE_USER, NEGOTIATE_PASSWORD and more:  . DIR/env
'down' stops that KDC. Nothing under /etc is read or written.

'up --kind ad' creates a throwaway Active Directory domain (SAMBA.EXAMPLE) instead: Samba's AD DC,
KDC only, in a new network namespace (needs root) so it owns port 88 there; user alice (in N
extra groups with --groups N), service account svc-negotiate with SPNs HTTP/localhost and
host/localhost and AES keys in DIR/keytab. DIR/env also sets NEGOTIATE_NETNS: run clients and
servers that must reach the KDC with  ip netns exec "$NEGOTIATE_NETNS" ...
'down' ends every process in the namespace and deletes it. Needs: apt-get install -y samba
samba-ad-dc samba-ad-provision python3-samba. See docs/active-directory.md.
`;

class UsageError extends Error {}

/** The python3-gssapi sample client of the sspi framing (shipped in examples/), for the start banner. */
const SSPI_CLIENT = fileURLToPath(new URL('../../examples/sspi_client.py', import.meta.url));

function out(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'realm':
        return await realm(rest);
      case undefined:
        throw new UsageError('a command is required');
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(MAIN_HELP);
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(
        `negotiate-server: ${err.message}\n\n` +
          (command === 'serve' ? SERVE_HELP : command === 'realm' ? REALM_HELP : MAIN_HELP),
      );
      return 2;
    }
    if (err instanceof NegotiateError) {
      process.stderr.write(`negotiate-server: ${err.code}: ${err.message}\n`);
      return err.code === 'ERR_CONFIG' ? 2 : 1;
    }
    process.stderr.write(`negotiate-server: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

async function realm(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(REALM_HELP);
    return 0;
  }
  const { kind, groups, rest } = realmOptions(args);
  const [action, dir, ...extra] = rest;
  if (
    (action !== 'up' && action !== 'down') ||
    !dir ||
    extra.length > 0 ||
    (action === 'down' && rest.length !== args.length)
  ) {
    throw new UsageError('expected: realm up DIR | realm down DIR (or realm up --kind ad [--groups N] DIR)');
  }
  if (action === 'up' && kind === 'ad') {
    const d = await ThrowawayAdDomain.create({ dir: path.resolve(dir), detached: true, groups });
    out({
      event: 'realm',
      kind: 'ad',
      dir: d.dir,
      envFile: d.envFile,
      realm: d.realmName,
      netns: d.netns,
      sambaPid: d.sambaPid,
      user: d.userPrincipal,
      servicePrincipals: d.servicePrincipals,
    });
    return 0;
  }
  if (action === 'down' && (await isAdDomainDir(path.resolve(dir)))) {
    const d = await ThrowawayAdDomain.load(path.resolve(dir));
    await d.stop();
    out({ event: 'realm-down', kind: 'ad', dir: d.dir });
    return 0;
  }
  if (action === 'up' && groups !== 0) throw new UsageError('--groups needs --kind ad');
  if (action === 'up') {
    const r = await ThrowawayRealm.create({ dir: path.resolve(dir), detached: true });
    const envFile = await r.writeEnvFile();
    out({
      event: 'realm',
      dir: r.dir,
      envFile,
      realm: r.realmName,
      kdcPort: r.kdcPort,
      kdcPid: r.kdcPid,
      user: r.userPrincipal,
    });
    return 0;
  }
  const r = await ThrowawayRealm.load(path.resolve(dir));
  await r.stop();
  out({ event: 'realm-down', dir: r.dir });
  return 0;
}

/** `realm` flags: --kind mit|ad (default mit), --groups N (AD only); the rest in order. */
function realmOptions(args: readonly string[]): { kind: 'mit' | 'ad'; groups: number; rest: string[] } {
  let kind: 'mit' | 'ad' = 'mit';
  let groups = 0;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--kind') {
      const v = args[++i];
      if (v !== 'mit' && v !== 'ad') throw new UsageError(`--kind must be mit or ad, not ${JSON.stringify(v ?? '')}`);
      kind = v;
    } else if (a === '--groups') {
      const v = args[++i] ?? '';
      if (!/^[0-9]{1,6}$/.test(v)) throw new UsageError(`--groups must be a whole number, not ${JSON.stringify(v)}`);
      groups = Number(v);
    } else {
      rest.push(a);
    }
  }
  return { kind, groups, rest };
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      'ERR_CONFIG',
      `--cookie-key-file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

function parseServe(args: string[]): ServeConfig {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        keytab: { type: 'string' },
        principal: { type: 'string' },
        ntlm: { type: 'boolean' },
        'ntlm-users': { type: 'string' },
        'replay-cache': { type: 'string' },
        'replay-cache-size': { type: 'string' },
        'replay-cache-principal-quota': { type: 'string' },
        'require-flags': { type: 'string' },
        'sspi-principal': { type: 'string' },
        'gss-sample-principal': { type: 'string' },
        'http-principal': { type: 'string' },
        sspi: { type: 'string' },
        'gss-sample': { type: 'string' },
        http: { type: 'string' },
        ws: { type: 'string' },
        admin: { type: 'string' },
        'session-cookie': { type: 'string' },
        'cookie-key-file': { type: 'string' },
        'cookie-secure': { type: 'boolean' },
        'allow-uws-fallback': { type: 'boolean' },
        workers: { type: 'string' },
        'max-queue': { type: 'string' },
        'task-timeout': { type: 'string' },
        'max-contexts': { type: 'string' },
        'max-handshakes-per-address': { type: 'string' },
        'max-token': { type: 'string' },
        'handshake-timeout': { type: 'string' },
        'idle-timeout': { type: 'string' },
        'max-connections': { type: 'string' },
        'shutdown-grace': { type: 'string' },
        greeting: { type: 'string' },
        'gss-sample-allow-unauthenticated': { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) throw Object.assign(new Error('help'), { help: true });
  const int = (
    flag: string,
    value: string | undefined,
    dflt: number,
    range?: { min?: number; max?: number },
  ): number => (value === undefined ? dflt : parsePositiveInt(`--${flag}`, value, range));
  const anyListener = v.sspi !== undefined || v['gss-sample'] !== undefined || v.http !== undefined;
  const http = v.http !== undefined ? parseListenAddress('--http', v.http) : anyListener ? undefined : DEFAULT_HTTP;
  if (v.ws !== undefined && !http) throw new UsageError('--ws needs an HTTP listener (--http HOST:PORT)');
  const cookieFile = v['cookie-key-file'];
  return {
    keytab: v.keytab,
    principal: v.principal,
    ntlm: v.ntlm === true,
    ntlmUsers: v['ntlm-users'],
    replayCache: v['replay-cache'] === undefined ? 'default' : parseReplayCache(v['replay-cache']),
    ...(v['replay-cache-size'] === undefined
      ? {}
      : { replayCacheSize: parsePositiveInt('--replay-cache-size', v['replay-cache-size']) }),
    ...(v['replay-cache-principal-quota'] === undefined
      ? {}
      : {
          replayCachePrincipalQuota: parsePositiveInt(
            '--replay-cache-principal-quota',
            v['replay-cache-principal-quota'],
          ),
        }),
    ...(v['require-flags'] === undefined ? {} : { requireFlags: parseRequireFlags(v['require-flags']) }),
    ...frontendPrincipalsFrom(v),
    sspi: v.sspi !== undefined ? parseListenAddress('--sspi', v.sspi) : anyListener ? undefined : DEFAULT_SSPI,
    gssSample:
      v['gss-sample'] !== undefined
        ? parseListenAddress('--gss-sample', v['gss-sample'])
        : anyListener
          ? undefined
          : DEFAULT_GSS_SAMPLE,
    http,
    wsPath: http ? (v.ws === 'none' ? undefined : v.ws !== undefined ? parseWsPath(v.ws) : DEFAULT_WS_PATH) : undefined,
    sessionCookieTtlSeconds:
      v['session-cookie'] === undefined
        ? undefined
        : parsePositiveInt('--session-cookie', v['session-cookie'], { max: 30 * 86400 }),
    sessionCookieKeys: cookieFile === undefined ? [] : parseCookieKeys(cookieFile, readKeyFile(cookieFile)),
    sessionCookieSecure: v['cookie-secure'] === true,
    allowUwsFallback: v['allow-uws-fallback'] === true,
    admin: v.admin !== undefined ? parseListenAddress('--admin', v.admin) : undefined,
    workers: int('workers', v.workers, os.availableParallelism(), { max: 256 }),
    maxQueue: int('max-queue', v['max-queue'], DEFAULT_LIMITS.maxQueue),
    taskTimeoutMs: int('task-timeout', v['task-timeout'], DEFAULT_LIMITS.taskTimeoutMs),
    maxContexts: int('max-contexts', v['max-contexts'], DEFAULT_LIMITS.maxContexts),
    ...(v['max-handshakes-per-address'] === undefined
      ? {}
      : { maxHandshakesPerAddress: parsePositiveInt('--max-handshakes-per-address', v['max-handshakes-per-address']) }),
    maxTokenBytes: int('max-token', v['max-token'], DEFAULT_LIMITS.maxTokenBytes, { min: 16, max: 16 * 1024 * 1024 }),
    handshakeTimeoutMs: int('handshake-timeout', v['handshake-timeout'], DEFAULT_LIMITS.handshakeTimeoutMs),
    idleTimeoutMs: int('idle-timeout', v['idle-timeout'], DEFAULT_LIMITS.idleTimeoutMs),
    maxConnections: int('max-connections', v['max-connections'], DEFAULT_LIMITS.maxConnections),
    maxConnectionsFromUser: v['max-connections'] !== undefined,
    shutdownGraceMs: int('shutdown-grace', v['shutdown-grace'], 5000, { min: 0 }),
    greeting: v.greeting ?? DEFAULT_GREETING,
    ...(v['gss-sample-allow-unauthenticated'] === true ? { gssSampleAllowUnauthenticated: true } : {}),
    logLevel: v['log-level'] === undefined ? 'info' : parseLogLevel(v['log-level']),
  };
}

async function serve(args: string[]): Promise<number> {
  let config: ServeConfig;
  try {
    config = parseServe(args);
  } catch (err) {
    if ((err as { help?: boolean }).help) {
      process.stdout.write(SERVE_HELP);
      return 0;
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);

  // Signals are handled from the first moment: a SIGTERM while the embedded realm starts must
  // still stop its KDC and remove its directory.
  let signalled: string | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (signal: string): void => {
    if (signalled) return;
    signalled = signal;
    logger.info('shutting down', { signal });
    wake?.();
  };
  const onTerm = (): void => onSignal('SIGTERM');
  const onInt = (): void => onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  // SIGHUP: read the keytab again (key rotation). Before the server is up there is nothing to
  // reload, but the signal must not kill the process either (its default action).
  let server: NegotiateServer | undefined;
  const onHup = (): void => {
    if (!server) return;
    server.pool.reloadKeytab().then(
      (r) => {
        logger.info('keytab reloaded', { keytab: r.source, entries: r.entries, generation: r.generation });
        out({ event: 'keytabReloaded', keytab: r.source, entries: r.entries, generation: r.generation });
      },
      (err: unknown) => {
        const e = err as { code?: string; message?: string };
        logger.error('keytab reload failed; the keys in use stay in use', { code: e.code, error: e.message });
      },
    );
  };
  process.on('SIGHUP', onHup);

  let embedded: ThrowawayRealm | undefined;
  try {
    if (config.keytab === undefined) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-realm-'));
      logger.info('no --keytab: starting an embedded throwaway realm', { dir });
      try {
        embedded = await ThrowawayRealm.create({ dir });
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      if (signalled) return 0;
      await embedded.writeEnvFile();
      // The acceptor reads krb5.conf (default realm, enctypes) and gss-ntlmssp reads the users
      // file from the environment; both are process-wide, which is what the workers share.
      for (const [k, value] of Object.entries(embedded.env())) {
        if (k !== 'KRB5CCNAME' && k !== 'NEGOTIATE_PASSWORD') process.env[k] = value;
      }
      config.keytab = embedded.keytab;
      config.ntlmUsers ??= embedded.ntlmUserFile;
    }
    if (config.ntlmUsers !== undefined) process.env['NTLM_USER_FILE'] = config.ntlmUsers;

    server = await NegotiateServer.start({ ...config, logger });
    if (signalled) return 0;

    if (embedded) {
      const gss = server.listening().find((l) => l.frontend === 'gss-sample');
      const sspi = server.listening().find((l) => l.frontend === 'sspi');
      const gssClient = gss
        ? `. ${embedded.envFile} && gss-client -port ${gss.port} localhost host@localhost "hello"`
        : undefined;
      const http = server.listening().find((l) => l.frontend === 'http');
      // Kerberos HTTP clients build the SPN from the hostname: localhost, never the IP.
      const curl = http
        ? `. ${embedded.envFile} && curl --negotiate -u : http://localhost:${http.port}/whoami`
        : undefined;
      out({
        event: 'realm',
        dir: embedded.dir,
        envFile: embedded.envFile,
        realm: embedded.realmName,
        user: embedded.userPrincipal,
        gssClient,
        curl,
      });
      process.stderr.write(
        `\nEmbedded throwaway realm ${embedded.realmName} in ${embedded.dir} (removed on exit).\n` +
          `Client environment: . ${embedded.envFile}\n` +
          (gssClient ? `Try MIT's sample client:  ${gssClient}\n` : '') +
          (curl ? `HTTP Negotiate:           ${curl}\n` : '') +
          (sspi
            ? `SSPI-framing client:      . ${embedded.envFile} && /usr/bin/python3 ${SSPI_CLIENT} --port ` +
              `${sspi.port} --service host@localhost --mech spnego\n`
            : '') +
          '\n',
      );
    }
    for (const l of server.listening()) out(l);

    await new Promise<void>((resolve) => {
      wake = resolve;
      if (signalled) resolve();
    });
    return 0;
  } finally {
    if (server) {
      await server.close();
      const stats = server.pool.stats();
      logger.info('stopped', {
        contextsLive: stats.live,
        created: stats.created,
        completed: stats.completed,
        failed: stats.failed,
      });
    }
    await embedded?.destroy();
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
    if (signalled) out({ event: 'stopped' });
  }
}

/** --sspi-principal, --gss-sample-principal, --http-principal: the names given, by front end. */
function frontendPrincipalsFrom(v: Record<string, unknown>): {
  frontendPrincipals?: Partial<Record<AcceptorSlot, string>>;
} {
  const out: Partial<Record<AcceptorSlot, string>> = {};
  for (const slot of ACCEPTOR_SLOTS) {
    const value = v[`${slot}-principal`];
    if (typeof value !== 'string') continue;
    if (value.trim() === '') throw new ConfigError('ERR_CONFIG', `--${slot}-principal needs a principal name`);
    out[slot] = value;
  }
  return Object.keys(out).length === 0 ? {} : { frontendPrincipals: out };
}
