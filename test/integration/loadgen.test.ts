/**
 * `negotiate-server loadgen` (src/cli/loadgenCommand.ts, src/loadgen/) run as users run it,
 * against real servers of a throwaway realm: this server over HTTP, sspi and gss-sample, and
 * Apache + mod_auth_gssapi over HTTP; errors counted by kind (a service the server has no key
 * for, a closed port); bad arguments refused with exit 2; a service the KDC does not know
 * refused at start with exit 1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { NegotiateServer } from '../../src/server.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { startTestServer, useRealm, type TestServer } from '../support/server.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tlsFiles.js';

// Compiled to dist/test/integration/: the repository root is three levels up.
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(REPO_ROOT, 'bin', 'negotiate-server.js');
const APACHE_LIB = pathToFileURL(path.join(REPO_ROOT, 'bench', 'lib', 'apache.mjs')).href;

/** The keys of `loadgen --json`, documented in docs/loadgen.md: scripts rely on them. */
const RESULT_KEYS = [
  'connections',
  'cpuSeconds',
  'durationSeconds',
  'elapsedSeconds',
  'errorSamples',
  'errors',
  'errorsTotal',
  'framing',
  'handshakes',
  'handshakesPerSecond',
  'httpStatus',
  'latencyMs',
  'mech',
  'mutual',
  'rate',
  'service',
  'target',
];
const ERROR_KEYS = ['connection', 'httpStatus', 'mutual', 'protocol', 'refused', 'timeout'];

interface LoadResult {
  framing: string;
  handshakes: number;
  handshakesPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  errors: Record<string, number>;
  errorsTotal: number;
  errorSamples: Record<string, string>;
  mutual: { sampleEvery: number; sampled: number; verified: number; failed: number };
  httpStatus: Record<string, number>;
  cpuSeconds: { loadgen: number; tokengen: number | null };
}

interface ApacheHandle {
  ports: { http?: number };
  stop(): Promise<void>;
}

let realm: ThrowawayRealm;
let ours: TestServer;
let apache: ApacheHandle | undefined;
let httpsServer: NegotiateServer | undefined;
let cert: TestCertificate | undefined;

before(async () => {
  requireTool('apache2', 'apache2');
  realm = await startTestRealm();
  // Known to the KDC, absent from every keytab: its tokens are well formed and refused.
  await realm.addPrincipal('HTTP/nokey.localhost');
  ours = await startTestServer(realm, { http: { host: '127.0.0.1', port: 0 } });
});

after(async () => {
  await httpsServer?.close();
  await cert?.remove();
  await apache?.stop();
  await ours?.server.close();
  await realm?.destroy();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function loadgen(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  const env = { ...process.env, ...realm.env(), LC_ALL: 'C', ...extraEnv };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'loadgen', ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function loadgenJson(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<LoadResult> {
  const r = await loadgen([...args, '--json'], extraEnv);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `stdout must be one JSON line: ${r.stdout}`);
  const result = JSON.parse(lines[0]!) as LoadResult & Record<string, unknown>;
  assert.deepEqual(Object.keys(result).sort(), RESULT_KEYS);
  assert.deepEqual(Object.keys(result.errors).sort(), ERROR_KEYS);
  return result;
}

/** Many handshakes, none failed, and every sampled reply verified as mutual authentication. */
function assertClean(r: LoadResult): void {
  assert.ok(r.handshakes > 0, `no handshakes: ${JSON.stringify(r)}`);
  assert.equal(r.errorsTotal, 0, JSON.stringify(r.errorSamples));
  assert.ok(r.mutual.sampled > 0);
  assert.equal(r.mutual.verified, r.mutual.sampled);
  assert.equal(r.mutual.failed, 0);
  assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p50 <= r.latencyMs.p99 && r.latencyMs.p99 <= r.latencyMs.max);
  assert.ok(r.handshakesPerSecond > 0);
  assert.ok(r.cpuSeconds.loadgen > 0 && r.cpuSeconds.tokengen !== null);
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('loadgen over HTTP against this server: handshakes, no errors, mutual authentication verified', async () => {
  const r = await loadgenJson([
    `http://localhost:${ours.httpPort}/whoami`,
    '--connections',
    '4',
    '--duration',
    '1.5',
    '--sample-mutual',
    '5',
  ]);
  assert.equal(r.framing, 'http');
  assertClean(r);
  assert.deepEqual(r.httpStatus, { '200': r.handshakes });
  assert.ok(r.mutual.sampled >= Math.floor(r.handshakes / 5));
});

test('loadgen over the sspi framing: one connection per handshake, every reply verified', async () => {
  const r = await loadgenJson([
    `sspi://127.0.0.1:${ours.sspiPort}`,
    '--service',
    'host@localhost',
    '--connections',
    '4',
    '--duration',
    '1',
    '--sample-mutual',
    '1',
  ]);
  assert.equal(r.framing, 'sspi');
  assertClean(r);
  assert.equal(r.mutual.sampled, r.handshakes);
  assert.deepEqual(r.httpStatus, {});
});

test('loadgen over the gss-sample framing, raw krb5 tokens', async () => {
  const r = await loadgenJson([
    `gss-sample://localhost:${ours.gssSamplePort}`,
    '--mech',
    'krb5',
    '--connections',
    '2',
    '--duration',
    '1',
    '--sample-mutual',
    '3',
  ]);
  assert.equal(r.framing, 'gss-sample');
  assertClean(r);
});

test('loadgen over HTTPS: the certificate verified (or not, with --insecure), handshakes as over HTTP', async () => {
  cert = await selfSignedCertificate('localhost');
  useRealm(realm);
  httpsServer = await NegotiateServer.start({
    credentials: { keytab: realm.keytab },
    http: { host: '127.0.0.1', port: 0, tls: { certFile: cert.certFile, keyFile: cert.keyFile } },
    workers: 1,
    shutdownGraceMs: 1000,
  });
  const port = httpsServer.listening().find((l) => l.frontend === 'http')?.port ?? 0;
  const target = `https://localhost:${port}/whoami`;
  const load = ['--connections', '2', '--duration', '1', '--sample-mutual', '3'];
  // Trusted through NODE_EXTRA_CA_CERTS, as users add a private CA.
  const trusted = await loadgenJson([target, ...load], { NODE_EXTRA_CA_CERTS: cert.certFile });
  assert.equal(trusted.framing, 'https');
  assertClean(trusted);
  assertClean(await loadgenJson([target, ...load, '--insecure']));
  // Not trusted: every attempt fails at the TLS handshake, before a token is sent.
  const untrusted = await loadgenJson([target, '--connections', '1', '--duration', '0.5']);
  assert.equal(untrusted.handshakes, 0);
  assert.ok(untrusted.errors['connection']! > 0);
  assert.equal(untrusted.errorsTotal, untrusted.errors['connection']);
  assert.equal(untrusted.errorSamples['connection'], 'DEPTH_ZERO_SELF_SIGNED_CERT');
});

test('loadgen --max-handshakes stops at that count; progress and the table go to stderr and stdout', async () => {
  const r = await loadgen([
    `http://localhost:${ours.httpPort}/whoami`,
    '--connections',
    '3',
    '--duration',
    '30',
    '--rate',
    '12',
    '--max-handshakes',
    '20',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^handshakes {3}20 in /m);
  assert.match(r.stdout, /^errors {7}0 /m);
  assert.match(r.stdout, /^latency ms {3}p50 /m);
  // At 12/s, 20 handshakes take more than a second: at least one progress line.
  assert.match(r.stderr, /^loadgen: 1s \d+ handshakes \(\d+\/s\), 0 errors$/m);
});

test('loadgen against Apache + mod_auth_gssapi over HTTP', async () => {
  const { startApache } = (await import(APACHE_LIB)) as {
    startApache: (o: { env: Record<string, string>; port: number }) => Promise<ApacheHandle>;
  };
  apache = await startApache({ env: realm.env(), port: 0 });
  const r = await loadgenJson([
    `http://localhost:${apache.ports.http}/whoami`,
    '--connections',
    '4',
    '--duration',
    '1.5',
    '--sample-mutual',
    '4',
  ]);
  assertClean(r);
  assert.deepEqual(r.httpStatus, { '200': r.handshakes });
});

test('a service the server has no key for: every handshake counted as refused (HTTP 401)', async () => {
  const r = await loadgenJson([
    `http://localhost:${ours.httpPort}/whoami`,
    '--service',
    'HTTP@nokey.localhost',
    '--connections',
    '2',
    '--duration',
    '0.5',
  ]);
  assert.equal(r.handshakes, 0);
  assert.ok(r.errors['refused']! > 0);
  assert.equal(r.errorsTotal, r.errors['refused']);
  assert.equal(r.errorSamples['refused'], 'HTTP 401');
  assert.equal(r.httpStatus['401'], r.errors['refused']);
});

test('the same refusal over sspi and gss-sample: the server sends its error token and closes', async () => {
  for (const target of [`sspi://127.0.0.1:${ours.sspiPort}`, `gss-sample://127.0.0.1:${ours.gssSamplePort}`]) {
    const r = await loadgenJson([
      target,
      '--service',
      'HTTP@nokey.localhost',
      '--connections',
      '2',
      '--duration',
      '0.5',
    ]);
    assert.equal(r.handshakes, 0, target);
    assert.ok(r.errors['refused']! > 0, target);
    assert.equal(r.errorsTotal, r.errors['refused'], JSON.stringify(r.errorSamples));
  }
});

test('a closed port: connection errors, no handshakes, the run still bounded by --duration', async () => {
  const port = await closedPort();
  for (const target of [`http://localhost:${port}/`, `gss-sample://127.0.0.1:${port}`]) {
    const r = await loadgenJson([target, '--service', 'HTTP@localhost', '--duration', '0.5', '--connections', '2']);
    assert.equal(r.handshakes, 0);
    assert.ok(r.errors['connection']! > 0, target);
    assert.equal(r.errorsTotal, r.errors['connection']);
    assert.equal(r.errorSamples['connection'], 'ECONNREFUSED');
  }
});

test('a service the KDC does not know: exit 1 with the reason, before any load', async () => {
  const r = await loadgen([`http://localhost:${ours.httpPort}/whoami`, '--service', 'HTTP@nosuch.invalid']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /ERR_TOKEN_GENERATOR: a service ticket for HTTP@nosuch\.invalid: .*not found in Kerberos database/,
  );
  assert.equal(r.stdout, '');
});

test('bad arguments are refused with exit 2, a message and the usage', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /a TARGET is required/],
    [['ftp://localhost:1'], /TARGET scheme must be http, https, sspi or gss-sample/],
    [['sspi://localhost'], /a sspi TARGET needs a port/],
    [['http://localhost:1/', '--connections', '0'], /--connections expects a whole number from 1 to 10000/],
    [['http://localhost:1/', '--duration', 'x'], /--duration expects a number/],
    [['http://localhost:1/', '--rate', '0'], /--rate expects a number from 0.001/],
    [['http://localhost:1/', '--service', 'HTTP/localhost'], /--service expects SERVICE@HOST/],
    [['http://localhost:1/', '--mech', 'ntlm'], /--mech expects spnego or krb5/],
    [['http://localhost:1/', '--insecure'], /--insecure applies to https only/],
    [['http://localhost:1/', '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = await loadgen(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /Usage: negotiate-server loadgen TARGET/);
  }
  const help = await loadgen(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--sample-mutual K/);
});
