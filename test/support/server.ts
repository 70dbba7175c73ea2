/**
 * Test servers and clients: an in-process NegotiateServer on port 0 against a throwaway realm,
 * and a bounded runner for real client programs (gss-client, python3-gssapi).
 */
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startResolvedServer, type NegotiateServer } from '../../src/server.js';
import { resolveServerOptions, type ResolvedServerConfig } from '../../src/options.js';
import { applyProcessWideSettings } from '../../src/processSettings.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { createLogger } from '../../src/logger.js';

/** Points this process's acceptor at the realm (krb5.conf, replay cache dir, NTLM users). */
export function useRealm(realm: ThrowawayRealm): void {
  const env = realm.env();
  const realmEnvironment: Record<string, string> = {};
  for (const k of ['KRB5_CONFIG', 'KRB5RCACHEDIR', 'NTLM_USER_FILE'] as const) realmEnvironment[k] = env[k] as string;
  applyProcessWideSettings({ realmEnvironment });
}

/** Flat overrides on the resolved configuration (a white-box path: the public options are nested). */
export type TestServerOverrides = Partial<ResolvedServerConfig>;

export interface TestServer {
  server: NegotiateServer;
  sspiPort: number;
  gssSamplePort: number;
  httpPort: number;
}

/**
 * Starts both TCP front ends on 127.0.0.1 port 0 with the realm's keytab: the library's defaults
 * (resolveServerOptions) with 2 workers and a 1 s shutdown grace, then `overrides`.
 */
export async function startTestServer(realm: ThrowawayRealm, overrides: TestServerOverrides = {}): Promise<TestServer> {
  useRealm(realm);
  const base = resolveServerOptions({
    credentials: { keytab: realm.keytab },
    tcp: { sspi: { port: 0 }, gssSample: { port: 0 } },
    workers: 2,
    shutdownGraceMs: 1000,
  });
  const server = await startResolvedServer({
    ...base,
    logger: createLogger(process.env['NEGOTIATE_TEST_LOG'] === '1' ? 'debug' : 'silent'),
    ...overrides,
  });
  const l = server.listening();
  return {
    server,
    sspiPort: l.find((x) => x.frontend === 'sspi')?.port ?? 0,
    gssSamplePort: l.find((x) => x.frontend === 'gss-sample')?.port ?? 0,
    httpPort: l.find((x) => x.frontend === 'http')?.port ?? 0,
  };
}

export interface ClientRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client program with the realm's environment; bounded by `timeoutMs`. Never throws on exit codes. */
export function runClient(
  file: string,
  args: string[],
  realm: ThrowawayRealm,
  timeoutMs = 20_000,
  extraEnv: Record<string, string> = {},
): Promise<ClientRun> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...realm.env(), ...extraEnv }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : null
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Debian's python3-gssapi belongs to /usr/bin/python3, not to a python3 earlier on PATH. */
export const PYTHON = '/usr/bin/python3';

/**
 * The sspi-framing client the package ships (examples/sspi_client.py), run with PYTHON as a real
 * client. Tests run from dist/test/support: the repository root is three levels up.
 */
export const SSPI_CLIENT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'examples',
  'sspi_client.py',
);

/** Fails (never skips) when python3-gssapi is missing, saying how to install it. */
export function requirePythonGssapi(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import gssapi'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'python3-gssapi not importable by /usr/bin/python3: install it with: apt-get install -y python3-gssapi',
    );
  }
}

/** Parses the JSON lines a fixture client prints. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
