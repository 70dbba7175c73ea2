/**
 * The admin listener (docs/operations.md): /metrics against real handshakes on a throwaway
 * realm (python3-gssapi over the sspi framing, raw AP-REQs, curl --negotiate, a gss-sample
 * session), each counter checked to move by exactly what happened; /healthz and /readyz,
 * including readiness dropping the moment close() starts; and `serve --admin` from the CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { encodeGssSampleFrame, encodeSspiFrame, TokenFlag } from '../../src/framing/index.js';
import type { HandshakeFailure } from '../../src/handshake/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { firstTokens } from '../support/initiator.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { FAULT_WORKER, holdEveryWorker } from '../support/faultWorker.js';
import {
  PYTHON,
  jsonLines,
  requirePythonGssapi,
  runClient,
  startTestServer,
  type TestServer,
  SSPI_CLIENT,
} from '../support/server.js';
import { nextEvent } from '../support/events.js';
import { RawConn } from '../support/rawConn.js';
import { waitUntil } from '../support/waitUntil.js';

const curl = requireTool('curl', 'curl');
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'negotiate-server.js');
const T = { timeout: 30_000 };

let realm: ThrowawayRealm;
let ts: TestServer;
let adminPort: number;
/** Fresh raw-krb5 AP-REQs for host@localhost, each used once (or twice, to replay it). */
let krbTokens: Buffer[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, {
    http: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    workerFile: FAULT_WORKER,
  });
  const admin = ts.server.listening().find((l) => l.frontend === 'admin');
  assert.ok(admin, `an admin listening entry: ${JSON.stringify(ts.server.listening())}`);
  adminPort = admin.port;
  krbTokens = await firstTokens(realm, { mech: 'krb5' }, 3);
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
});

function krbToken(): Buffer {
  const t = krbTokens.shift();
  assert.ok(t, 'ran out of pre-made Kerberos tokens');
  return t;
}

/** A garbage token whose first byte no mechanism claims (see sspi.test.ts). */
function garbageToken(): Buffer {
  const t = randomBytes(64);
  t[0] = 0xa5;
  return t;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  port: number,
  urlPath: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: options.method ?? 'GET',
        headers: { Connection: 'close', ...options.headers },
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** One scrape: every sample by `name{labels}` with the labels sorted, so lookups ignore order. */
type Samples = Map<string, number>;

function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return parts.length > 0 ? `${name}{${parts.join(',')}}` : name;
}

function parseExposition(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = l[2] as string;
    samples.set(sampleKey(m[1] as string, labels), Number(m[3]));
  }
  return samples;
}

async function scrape(port = adminPort): Promise<Samples> {
  const r = await request(port, '/metrics');
  assert.equal(r.status, 200, r.body);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(r.body);
}

/** A sample's value; a labelled series not created yet reads 0, as Prometheus' increase() would. */
function value(s: Samples, name: string, labels: Record<string, string> = {}): number {
  return s.get(sampleKey(name, labels)) ?? 0;
}

function delta(before: Samples, after: Samples, name: string, labels: Record<string, string> = {}): number {
  return value(after, name, labels) - value(before, name, labels);
}

/** Sends one sspi frame on a fresh connection and waits for the server to close it. */
async function sspiOneToken(token: Buffer): Promise<void> {
  const c = await RawConn.connect(ts.sspiPort);
  try {
    await c.write(encodeSspiFrame(token));
    await c.waitClosed();
  } finally {
    c.destroy();
  }
}

test('handshakes, failures, replays and latencies move the counters by exactly what happened', T, async () => {
  const sessions: unknown[] = [];
  const failures: HandshakeFailure[] = [];
  const onSession = (s: Session): void => void sessions.push(s);
  const onFailure = (f: HandshakeFailure): void => void failures.push(f);
  ts.server.on('session', onSession);
  ts.server.on('handshakeFailed', onFailure);
  try {
    const before = await scrape();

    // sspi: two python3-gssapi clients (SPNEGO, mutual), then a raw AP-REQ, its replay, garbage.
    for (let i = 0; i < 2; i++) {
      const r = await runClient(
        PYTHON,
        [SSPI_CLIENT, '--port', String(ts.sspiPort), '--mech', 'spnego', '--timeout', '10'],
        realm,
        20_000,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(jsonLines(r.stdout)[0]?.['ok'], true, r.stdout);
    }
    const replayed = krbToken();
    const first = nextEvent<Session>(ts.server, 'session');
    await sspiOneToken(replayed);
    assert.equal((await first).principal, realm.userPrincipal);
    const replay = nextEvent<HandshakeFailure>(ts.server, 'handshakeFailed');
    await sspiOneToken(replayed);
    assert.equal((await replay).code, 'ERR_GSS_REPLAY', (await replay).message);
    const garbage = nextEvent<HandshakeFailure>(ts.server, 'handshakeFailed');
    await sspiOneToken(garbageToken());
    assert.equal((await garbage).code, 'ERR_GSS_DEFECTIVE_TOKEN');

    // HTTP: two curl --negotiate requests (each a 401 challenge, then the handshake), one garbage token.
    for (let i = 0; i < 2; i++) {
      const run = await runClient(
        curl,
        [
          '-sS',
          '--negotiate',
          '-u',
          ':',
          '--resolve',
          `localhost:${ts.httpPort}:127.0.0.1`,
          `http://localhost:${ts.httpPort}/whoami`,
        ],
        realm,
        15_000,
      );
      assert.equal(run.code, 0, run.stderr);
      assert.equal((JSON.parse(run.stdout) as { principal: string }).principal, realm.userPrincipal);
    }
    const refused = await request(ts.httpPort, '/whoami', {
      headers: { Authorization: `Negotiate ${garbageToken().toString('base64')}` },
    });
    assert.equal(refused.status, 401);

    const after = await scrape();
    const hs = 'negotiate_handshakes_total';
    assert.equal(delta(before, after, hs, { frontend: 'sspi', mech: 'krb5', outcome: 'success' }), 3);
    assert.equal(delta(before, after, hs, { frontend: 'sspi', mech: 'unknown', outcome: 'failure' }), 2);
    assert.equal(delta(before, after, hs, { frontend: 'http', mech: 'krb5', outcome: 'success' }), 2);
    assert.equal(delta(before, after, hs, { frontend: 'http', mech: 'unknown', outcome: 'failure' }), 1);
    assert.equal(delta(before, after, hs, { frontend: 'gss-sample', mech: 'krb5', outcome: 'success' }), 0);
    const fails = 'negotiate_handshake_failures_total';
    assert.equal(delta(before, after, fails, { frontend: 'sspi', code: 'ERR_GSS_REPLAY' }), 1);
    assert.equal(delta(before, after, fails, { frontend: 'sspi', code: 'ERR_GSS_DEFECTIVE_TOKEN' }), 1);
    assert.equal(delta(before, after, fails, { frontend: 'http', code: 'ERR_GSS_DEFECTIVE_TOKEN' }), 1);
    assert.equal(delta(before, after, 'negotiate_replay_rejections_total'), 1);
    // Cross-check with the events the application saw.
    assert.equal(sessions.length, 5, 'five session events');
    assert.equal(failures.length, 3, `three failure events: ${JSON.stringify(failures)}`);

    // The histogram holds one observation per handshake, per front end and outcome.
    const h = 'negotiate_handshake_duration_seconds';
    for (const [frontend, outcome, n] of [
      ['sspi', 'success', 3],
      ['sspi', 'failure', 2],
      ['http', 'success', 2],
      ['http', 'failure', 1],
    ] as const) {
      const labels = { frontend, outcome };
      assert.equal(delta(before, after, `${h}_count`, labels), n, `${frontend} ${outcome} count`);
      assert.equal(
        delta(before, after, `${h}_bucket`, { ...labels, le: '+Inf' }),
        n,
        `${frontend} ${outcome} +Inf bucket`,
      );
      assert.ok(delta(before, after, `${h}_bucket`, { ...labels, le: '10' }) === n, 'every handshake under 10 s');
      const sum = delta(before, after, `${h}_sum`, labels);
      assert.ok(sum >= 0 && sum < n * 10, `${frontend} ${outcome} sum ${sum}`);
    }

    // The context table: one context per handshake, each completed or failed.
    const completed = delta(before, after, 'negotiate_contexts_completed_total');
    const failed = delta(before, after, 'negotiate_contexts_failed_total');
    assert.equal(completed, 5, 'five contexts completed');
    assert.equal(failed, 3, 'three contexts failed');
    assert.equal(delta(before, after, 'negotiate_contexts_created_total'), completed + failed);
    await waitUntil(async () => value(await scrape(), 'negotiate_contexts_live') === 0, 'every context to be freed');
  } finally {
    ts.server.off('session', onSession);
    ts.server.off('handshakeFailed', onFailure);
  }
});

test(
  'a gss-sample session shows in sessions_open, connections_open and the context gauges until it ends',
  T,
  async () => {
    const before = await scrape();
    assert.equal(value(before, 'negotiate_pool_workers'), 2);
    assert.equal(value(before, 'negotiate_pool_queue_limit'), 1024);
    assert.equal(value(before, 'negotiate_pool_queue_depth'), 0);
    const utilization = value(before, 'negotiate_pool_utilization');
    assert.ok(utilization >= 0 && utilization <= 1, `utilization ${utilization}`);
    assert.equal(value(before, 'negotiate_sessions_open', { frontend: 'gss-sample' }), 0);

    const c = await RawConn.connect(ts.gssSamplePort);
    try {
      const established = nextEvent<Session>(ts.server, 'session');
      await c.write(encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT));
      await c.write(encodeGssSampleFrame(TokenFlag.CONTEXT, krbToken()));
      const session = await established;
      assert.equal(session.frontend, 'gss-sample');
      assert.ok(
        typeof session.latencyMs === 'number' && session.latencyMs >= 0,
        'the session carries its handshake latency',
      );

      const open = await scrape();
      assert.equal(value(open, 'negotiate_sessions_open', { frontend: 'gss-sample' }), 1);
      assert.equal(value(open, 'negotiate_connections_open', { frontend: 'gss-sample' }), 1);
      assert.equal(value(open, 'negotiate_sessions_open', { frontend: 'sspi' }), 0);
      assert.equal(value(open, 'negotiate_contexts_live'), 1);
      assert.equal(value(open, 'negotiate_contexts_established'), 1);
      assert.equal(value(open, 'negotiate_contexts_handshaking'), 0);
      assert.equal(
        delta(before, open, 'negotiate_handshakes_total', { frontend: 'gss-sample', mech: 'krb5', outcome: 'success' }),
        1,
      );
      assert.equal(
        delta(before, open, 'negotiate_handshake_duration_seconds_count', {
          frontend: 'gss-sample',
          outcome: 'success',
        }),
        1,
      );

      // The client's closing NOOP ends the session.
      await c.write(encodeGssSampleFrame(TokenFlag.NOOP));
      await c.waitClosed();
    } finally {
      c.destroy();
    }
    await waitUntil(async () => {
      const s = await scrape();
      return (
        value(s, 'negotiate_sessions_open', { frontend: 'gss-sample' }) === 0 &&
        value(s, 'negotiate_connections_open', { frontend: 'gss-sample' }) === 0 &&
        value(s, 'negotiate_contexts_live') === 0
      );
    }, 'the session to end');
  },
);

test(
  '/metrics also carries the default process metrics; /healthz, /readyz answer; other paths and methods are refused',
  T,
  async () => {
    const metrics = await request(adminPort, '/metrics');
    assert.match(metrics.body, /^process_cpu_user_seconds_total \d/m);
    assert.match(metrics.body, /^nodejs_eventloop_lag_seconds /m);
    assert.match(metrics.body, /^# TYPE negotiate_handshake_duration_seconds histogram$/m);
    assert.equal(metrics.headers['cache-control'], 'no-store');

    const health = await request(adminPort, '/healthz');
    assert.deepEqual([health.status, health.body], [200, 'ok\n']);
    const ready = await request(adminPort, '/readyz?verbose=1');
    assert.deepEqual([ready.status, ready.body], [200, 'ready\n']);
    assert.deepEqual(ts.server.readiness(), { ready: true });
    const head = await request(adminPort, '/metrics', { method: 'HEAD' });
    assert.deepEqual([head.status, head.body], [200, '']);

    assert.equal((await request(adminPort, '/')).status, 404);
    assert.equal((await request(adminPort, '/metrics/x')).status, 404);
    const post = await request(adminPort, '/metrics', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
  },
);

// Last: it closes the shared server.
test(
  '/readyz answers 503 from the moment close() starts while /healthz stays 200; the admin port closes last',
  T,
  async () => {
    // Both workers held, so a handshake waits in the queue and close() has something to drain.
    const held = await holdEveryWorker(ts.server.pool, 2);
    const c = await RawConn.connect(ts.sspiPort);
    try {
      await c.write(encodeSspiFrame(garbageToken()));
      await waitUntil(
        async () => value(await scrape(), 'negotiate_pool_queue_depth') === 1,
        'the handshake to be queued (seen on /metrics)',
      );

      const closing = ts.server.close(5000);
      const ready = await request(adminPort, '/readyz');
      assert.deepEqual([ready.status, ready.body], [503, 'not ready: shutting down\n']);
      assert.equal((await request(adminPort, '/healthz')).status, 200, 'still alive while draining');
      assert.equal(value(await scrape(), 'negotiate_pool_queue_depth'), 1, 'metrics are served while draining');
      await held.release();
      await closing;
    } finally {
      c.destroy();
      await held.release();
    }
    await assert.rejects(request(adminPort, '/healthz'), /ECONNREFUSED/, 'the admin listener is closed after the rest');
    assert.deepEqual(ts.server.readiness(), { ready: false, reason: 'shutting down' });
  },
);

test(
  'serve --admin 127.0.0.1:0 prints the admin listening line and serves /metrics; a bad --admin is a usage error',
  T,
  async () => {
    const bad = await runClient(process.execPath, [BIN, 'serve', '--admin', '127.0.0.1:70000'], realm, 15_000);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--admin expects HOST:PORT/);

    const env = { ...process.env, ...realm.env() };
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--keytab', realm.keytab, '--sspi', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '1'],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const lines: Array<Record<string, unknown>> = [];
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    );
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
    try {
      await waitUntil(
        () => {
          assert.ok(child.exitCode === null || lines.length >= 2, `the CLI exited early:\n${stderr}`);
          return lines.length >= 2;
        },
        () => `two listening lines: ${JSON.stringify(lines)}\n${stderr}`,
        20_000,
        20,
      );
      assert.deepEqual(
        lines.map((l) => [l['event'], l['frontend']]),
        [
          ['listening', 'sspi'],
          ['listening', 'admin'],
        ],
      );
      const admin = lines[1] as { address: unknown; port: unknown };
      assert.equal(admin.address, '127.0.0.1');
      assert.ok(typeof admin.port === 'number' && admin.port > 0);
      const samples = await scrape(admin.port);
      assert.equal(value(samples, 'negotiate_pool_workers'), 1);
      assert.ok(samples.has('process_cpu_user_seconds_total'), 'process metrics');
      assert.equal((await request(admin.port, '/readyz')).status, 200);
    } finally {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    }
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 15_000);
      }),
    ]);
    clearTimeout(timer);
    if (exit === 'timeout' && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    assert.deepEqual(exit, { code: 0, signal: null }, stderr);
    assert.deepEqual(lines.at(-1), { event: 'stopped' });
  },
);
