/**
 * What makes instances behind a balancer interchangeable, besides the shared replay cache: a
 * session cookie issued by instance A verifies on instance B when both read the same cookie
 * keys (`--cookie-key-file`), and not on an instance with other keys; graceful drain on SIGTERM
 * (`serve`): a handshake in flight at the signal completes (200), new connections are refused,
 * /readyz says "shutting down", and the process exits 0.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { httpGet, negotiateGet } from '../support/httpGet.js';
import { firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { RedisServer } from '../support/redisServer.js';
import { jsonLines, requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'negotiate-server.js');
const T = { timeout: 60_000 };
const SERVICE = 'HTTP@localhost';
let realm: ThrowawayRealm;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
});
after(async () => {
  await realm?.destroy();
});

const cookieOf = (setCookie: string[] | undefined): string => (setCookie?.[0] ?? '').split(';')[0] ?? '';

test('--cookie-key-file: a cookie from instance A verifies on B (same keys), not on C (other keys)', T, async () => {
  const dir = await mkdtemp(path.join(realm.dir, 'cookie-keys-'));
  const keyFile = path.join(dir, 'keys');
  await writeFile(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const { readCookieKeyFile } = await import('../../src/cli/flagValues.js');
  const keys = readCookieKeyFile(keyFile);
  const withKeys = (k: Buffer[]): Parameters<typeof startTestServer>[1] => ({
    http: { host: '127.0.0.1', port: 0 },
    replayCache: 'memory',
    sessionCookieTtlSeconds: 300,
    sessionCookieKeys: k,
  });
  const servers: TestServer[] = [];
  try {
    const a = await startTestServer(realm, withKeys(keys));
    servers.push(a);
    const b = await startTestServer(realm, withKeys(keys));
    servers.push(b);
    const c = await startTestServer(realm, withKeys([randomBytes(32)]));
    servers.push(c);
    const [token] = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 1);
    assert.ok(token);
    const first = await negotiateGet(a.httpPort, token);
    assert.equal(first.status, 200, first.body);
    const cookie = cookieOf(first.headers['set-cookie']);
    assert.match(cookie, /=/, 'A issued a session cookie');
    const onB = await httpGet(b.httpPort, '/whoami', { cookie });
    assert.equal(onB.status, 200, onB.body);
    assert.match(onB.body, /alice@/);
    const onC = await httpGet(c.httpPort, '/whoami', { cookie });
    assert.equal(onC.status, 401, 'another key does not verify it');
  } finally {
    for (const s of servers) await s.server.close();
  }
});

test('SIGTERM drains: a handshake in flight completes, new connections are refused, exit code 0', T, async () => {
  // Redis stopped holds a handshake in its replay check: in flight for as long as the test wants.
  const redis = await RedisServer.create();
  const env: NodeJS.ProcessEnv = { ...process.env, ...realm.env(), LC_ALL: 'C' };
  delete env['KRB5CCNAME'];
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--keytab',
      realm.keytab,
      '--http',
      '127.0.0.1:0',
      '--admin',
      '127.0.0.1:0',
      '--workers',
      '1',
      '--replay-cache',
      redis.url,
      '--replay-cache-timeout',
      '20000',
      '--shutdown-grace',
      '15000',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const events: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stdout }).on('line', (l) => events.push(...jsonLines(l)));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const portOf = (frontend: string): number | undefined =>
      events.find((e) => e['event'] === 'listening' && e['frontend'] === frontend)?.['port'] as number | undefined;
    await waitUntil(
      () => portOf('http') !== undefined && portOf('admin') !== undefined,
      () => `listening: ${stderr}`,
      30_000,
      50,
    );
    const http = portOf('http') ?? 0;
    const admin = portOf('admin') ?? 0;
    await waitUntil(async () => (await httpGet(admin, '/readyz')).status === 200, 'ready', 10_000, 50);
    const [token] = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 1);
    assert.ok(token);

    redis.pause();
    const inFlight = negotiateGet(http, token);
    await waitUntil(
      async () => /negotiate_replay_store_pending 1/.test((await httpGet(admin, '/metrics')).body),
      'the handshake waiting on its replay check',
      10_000,
      50,
    );
    child.kill('SIGTERM');
    await waitUntil(
      async () => {
        const r = await httpGet(admin, '/readyz').catch(() => undefined);
        return r === undefined || (r.status === 503 && r.body.includes('shutting down'));
      },
      '/readyz 503 shutting down',
      5000,
      20,
    );
    await waitUntil(
      async () =>
        await httpGet(http, '/whoami').then(
          () => false,
          (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED',
        ),
      'new connections refused',
      5000,
      20,
    );
    redis.resume();
    const done = await inFlight;
    assert.equal(done.status, 200, `the handshake in flight completed: ${done.body}`);
    assert.equal(await exited, 0, stderr);
    assert.ok(events.some((e) => e['event'] === 'stopped'));
  } finally {
    redis.resume();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await redis.destroy();
  }
});
