/**
 * `negotiate-server loadgen TARGET [options]`: load for any Negotiate server (docs/loadgen.md).
 * Flags are checked here (UsageError: exit 2); the run is src/loadgen/runLoad.ts.
 */
import { parseArgs } from 'node:util';
import { formatLoadResult } from '../loadgen/LoadStats.js';
import { runLoad, type LoadOptions, type LoadTarget } from '../loadgen/runLoad.js';
import { UsageError } from './flagTable.js';

export const LOADGEN_HELP = `Usage: negotiate-server loadgen TARGET [options]

Runs Negotiate (SPNEGO/Kerberos) handshakes against a server as fast as it answers (or at
--rate), each with a fresh token from your ticket cache (KRB5CCNAME; kinit first), and reports
handshakes/s, latency percentiles and errors by kind. Progress goes to stderr every second.

TARGET:
  http://HOST:PORT/PATH        keep-alive connections, one GET with Authorization: Negotiate
  https://HOST:PORT/PATH       the same over TLS
  sspi://HOST:PORT             the SSPI sample's framing, one connection per handshake
  gss-sample://HOST:PORT       MIT gss-client's framing, one connection per handshake

Options:
  --service SERVICE@HOST       The service principal's name (default: HTTP@HOST for http(s),
                               host@HOST for sspi and gss-sample)
  --connections N              Concurrent connections (default: 16; 1 to 10000)
  --duration S                 Seconds of load (default: 10; up to 86400)
  --rate R                     At most R handshakes per second in all (default: no cap)
  --max-handshakes N           Stop after N handshakes even before --duration
  --timeout-ms MS              Give up on one handshake after MS (default: 10000)
  --sample-mutual K            Verify the server's reply token (mutual authentication) on one
                               handshake in K, the first included (default: 100; 1: every
                               one; 0: none)
  --mech spnego|krb5           The token's mechanism (default: spnego)
  --insecure                   https: do not verify the server's certificate
  --json                       Print the result as one JSON object instead of the table
  -h, --help                   This text
`;

const OPTIONS = {
  service: { type: 'string' },
  connections: { type: 'string' },
  duration: { type: 'string' },
  rate: { type: 'string' },
  'max-handshakes': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'sample-mutual': { type: 'string' },
  mech: { type: 'string' },
  insecure: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses loadgen's arguments; 'help' for --help. @throws UsageError */
export function parseLoadgenArgs(args: string[]): (LoadOptions & { json: boolean }) | 'help' {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0 ? 'a TARGET is required' : `one TARGET only, got ${positionals.length}`,
    );
  }
  const target = parseTarget(positionals[0]!, values.insecure !== true);
  const service = values.service ?? `${target.framing.startsWith('http') ? 'HTTP' : 'host'}@${target.host}`;
  if (!/^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$/.test(service)) {
    throw new UsageError(`--service expects SERVICE@HOST such as HTTP@www.example.com, not ${JSON.stringify(service)}`);
  }
  const mech = values.mech ?? 'spnego';
  if (mech !== 'spnego' && mech !== 'krb5')
    throw new UsageError(`--mech expects spnego or krb5, not ${JSON.stringify(mech)}`);
  if (values.insecure === true && target.framing !== 'https') throw new UsageError('--insecure applies to https only');
  const rate = values.rate === undefined ? undefined : number('--rate', values.rate, 0.001, 1_000_000, false);
  const maxHandshakes =
    values['max-handshakes'] === undefined
      ? undefined
      : number('--max-handshakes', values['max-handshakes'], 1, 1_000_000_000, true);
  return {
    target,
    service,
    mech,
    connections: number('--connections', values.connections ?? '16', 1, 10_000, true),
    durationSeconds: number('--duration', values.duration ?? '10', 0.001, 86_400, false),
    rate,
    maxHandshakes,
    timeoutMs: number('--timeout-ms', values['timeout-ms'] ?? '10000', 1, 600_000, true),
    sampleMutual: number('--sample-mutual', values['sample-mutual'] ?? '100', 0, 1_000_000_000, true),
    json: values.json === true,
  };
}

function number(flag: string, text: string, min: number, max: number, integer: boolean): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new UsageError(
      `${flag} expects ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, not ${JSON.stringify(text)}`,
    );
  }
  return n;
}

const DEFAULT_PORTS: Record<LoadTarget['framing'], number | undefined> = {
  http: 80,
  https: 443,
  sspi: undefined,
  'gss-sample': undefined,
};

function parseTarget(text: string, verify: boolean): LoadTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `TARGET must be a URL such as http://host:8080/path or sspi://host:9000, not ${JSON.stringify(text)}`,
    );
  }
  const framing = url.protocol.slice(0, -1);
  if (framing !== 'http' && framing !== 'https' && framing !== 'sspi' && framing !== 'gss-sample') {
    throw new UsageError(`TARGET scheme must be http, https, sspi or gss-sample, not ${JSON.stringify(url.protocol)}`);
  }
  const port = url.port === '' ? DEFAULT_PORTS[framing] : Number(url.port);
  if (port === undefined) throw new UsageError(`a ${framing} TARGET needs a port: ${framing}://HOST:PORT`);
  if (url.hostname === '') throw new UsageError(`TARGET has no host: ${JSON.stringify(text)}`);
  if (url.username !== '' || url.password !== '') throw new UsageError('TARGET must not carry a user name or password');
  const tcp = framing === 'sspi' || framing === 'gss-sample';
  if (tcp && ((url.pathname !== '' && url.pathname !== '/') || url.search !== '')) {
    throw new UsageError(`a ${framing} TARGET has no path: ${framing}://HOST:PORT`);
  }
  // URL keeps IPv6 literals in brackets; sockets want them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { framing, host, port, path: tcp ? '/' : `${url.pathname}${url.search}`, verify, text };
}

/** Runs `loadgen`; returns the exit code (0: the run completed, whatever its errors). */
export async function loadgenCommand(args: string[]): Promise<number> {
  const parsed = parseLoadgenArgs(args);
  if (parsed === 'help') {
    process.stdout.write(LOADGEN_HELP);
    return 0;
  }
  const { json, ...options } = parsed;
  const result = await runLoad({
    ...options,
    onProgress: (p) => {
      const rate = p.seconds > 0 ? Math.round(p.handshakes / p.seconds) : 0;
      const kinds = Object.entries(p.errorsByKind)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      process.stderr.write(
        `loadgen: ${p.seconds.toFixed(0)}s ${p.handshakes} handshakes (${rate}/s), ${p.errors} errors` +
          `${kinds === '' ? '' : ` (${kinds})`}\n`,
      );
    },
  });
  process.stdout.write(json ? `${JSON.stringify(result)}\n` : formatLoadResult(result));
  return 0;
}
