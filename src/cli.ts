/**
 * The `negotiate-server` command line. Its contract is relied on by users' scripts: the
 * commands, flags, the JSON lines on stdout and the exit codes only ever grow compatibly.
 *
 *   negotiate-server serve [options]       serve; no --keytab = embedded throwaway realm
 *   negotiate-server realm up DIR          create and start a throwaway realm, leave it running
 *   negotiate-server realm down DIR        stop it
 *   negotiate-server loadgen TARGET [opts] load any Negotiate server (cli/loadgenCommand.ts)
 *
 * stdout carries only JSON event lines; logs go to stderr. `serve`'s flags, their help and how
 * they map onto NegotiateServer's options: cli/serveFlags.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NegotiateError } from './errors.js';
import { createPinoLogger, fromPinoCompatible } from './logger.js';
import { createStderrLogDestination } from './logDestination.js';
import { resolveServerOptions } from './options.js';
import { applyProcessWideSettings } from './processSettings.js';
import { ThrowawayRealm } from './realm/index.js';
import { NegotiateServer } from './server.js';
import { loadTlsCertificate } from './tls/TlsCertificate.js';
import { UsageError } from './cli/flagTable.js';
import { parseServeFlags, serveHelp } from './cli/serveFlags.js';
import { REALM_HELP, realmCommand } from './cli/realmCommand.js';
import { LOADGEN_HELP, loadgenCommand } from './cli/loadgenCommand.js';
import { out } from './cli/jsonLine.js';

const MAIN_HELP = `Usage: negotiate-server <command> [options]

Commands:
  serve              Accept Negotiate (SPNEGO: Kerberos, optionally NTLM) handshakes over TCP.
                     Without --keytab it starts a throwaway Kerberos realm and serves it.
  realm up DIR       Create a throwaway Kerberos realm in DIR, start its KDC, write DIR/env, exit.
                     --kind ad: a throwaway Active Directory domain instead (Samba, needs root).
  realm down DIR     Stop the realm's KDC.
  loadgen TARGET     Load a Negotiate server (this one, IIS, Apache...) with fresh Kerberos tokens
                     from your ticket cache: handshakes/s, latency, errors (docs/loadgen.md).

Run 'negotiate-server <command> --help' for a command's options.
`;

/** The python3-gssapi sample client of the sspi framing (shipped in examples/), for the start banner. */
const SSPI_CLIENT = fileURLToPath(new URL('../../examples/sspi_client.py', import.meta.url));

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'realm':
        return await realmCommand(rest);
      case 'loadgen':
        return await loadgenCommand(rest);
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
      process.stderr.write(`negotiate-server: ` + `${err.message}\n\n${usageOf(command)}`);
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

function usageOf(command: string | undefined): string {
  if (command === 'serve') return serveHelp();
  if (command === 'realm') return REALM_HELP;
  if (command === 'loadgen') return LOADGEN_HELP;
  return MAIN_HELP;
}

async function serve(args: string[]): Promise<number> {
  const invocation = parseServeFlags(args);
  if (invocation === 'help') {
    process.stdout.write(serveHelp());
    return 0;
  }
  const { options } = invocation;
  // Every value checked now, before an embedded realm is started for nothing (exit 2; a bad
  // TLS certificate exit 1). The server checks the certificate again when it starts.
  const resolved = resolveServerOptions(options);
  if (resolved.http && resolved.httpTls) await loadTlsCertificate(resolved.httpTls);
  // Buffered: the per-handshake line must not cost a write(2) each (logDestination.ts).
  const logDestination = createStderrLogDestination();
  const pinoLogger = createPinoLogger(invocation.logLevel, logDestination.stream);
  const logger = fromPinoCompatible(pinoLogger);

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
    server.recheckTlsCertificate().then(
      (r) => {
        if (r === undefined) return;
        if (r.onDisk.fingerprint256 === r.served.fingerprint256) {
          logger.info('tls certificate unchanged', { fingerprint256: r.served.fingerprint256 });
          return;
        }
        if (r.reloaded) {
          logger.info('tls certificate reloaded', {
            previous: r.served.fingerprint256,
            fingerprint256: r.onDisk.fingerprint256,
            validTo: new Date(r.onDisk.validTo).toISOString(),
          });
          return;
        }
        // uWS cannot swap a running listener's certificate (src/acceptors/httpTls.ts).
        logger.warn(
          'the TLS certificate changed on disk; the listener keeps serving the one it started with: restart for it',
          {
            served: r.served.fingerprint256,
            onDisk: r.onDisk.fingerprint256,
            validTo: new Date(r.served.validTo).toISOString(),
          },
        );
      },
      (err: unknown) => {
        const e = err as { code?: string; message?: string };
        logger.error('the TLS certificate files fail their checks; the certificate in use stays in use', {
          code: e.code,
          error: e.message,
        });
      },
    );
  };
  process.on('SIGHUP', onHup);

  let embedded: ThrowawayRealm | undefined;
  try {
    if (options.credentials.keytab === undefined) {
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
      applyProcessWideSettings({ realmEnvironment: embedded.env() });
      options.credentials.keytab = embedded.keytab;
      options.credentials.ntlmUsers ??= embedded.ntlmUserFile;
    }

    server = await NegotiateServer.start({ ...options, logger: pinoLogger });
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
      logDestination.flushSync(); // the log lines so far first, in order with the banner
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
    logDestination.flushSync();
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
    if (signalled) out({ event: 'stopped' });
  }
}
