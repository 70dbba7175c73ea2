/**
 * The failure policy of `--replay-cache redis://...`: Redis slow (SIGSTOP) or down (killed) makes
 * Kerberos handshakes fail closed (503, ERR_REPLAY_CACHE_UNAVAILABLE, counted) and /readyz 503
 * with the reason; recovery is automatic. With `--replay-cache-fallback memory` handshakes go on,
 * checked by the in-memory cache, /readyz stays 200 and the fallback is counted. A password in
 * the URL is never logged.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../../src/logger.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { DEFAULT_SHARED_REPLAY_CACHE, type ReplayFallback } from '../../src/replay/sharedReplayOptions.js';
import { httpGet, negotiateGet } from '../support/httpGet.js';
import { firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { RedisServer } from '../support/redisServer.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';

const T = { timeout: 60_000 };
const SERVICE = 'HTTP@localhost';
let realm: ThrowawayRealm;
let redis: RedisServer;
let closed: TestServer;
let fallback: TestServer;

function onRedis(mode: ReplayFallback, url = redis.url, logger?: Logger): Parameters<typeof startTestServer>[1] {
  return {
    replayCache: url as `redis://${string}`,
    sharedReplayCache: { ...DEFAULT_SHARED_REPLAY_CACHE, fallback: mode, timeoutMs: 200 },
    replayCacheSize: 1000,
    http: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    ...(logger === undefined ? {} : { logger }),
  };
}

const adminPort = (ts: TestServer): number => ts.server.admin?.address()?.port ?? 0;
const readyz = (ts: TestServer): Promise<{ status: number; body: string }> => httpGet(adminPort(ts), '/readyz');
const fresh = async (): Promise<Buffer> => {
  const [t] = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 1);
  assert.ok(t);
  return t;
};
async function metric(ts: TestServer, name: string): Promise<number> {
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(await ts.server.metrics.render());
  return Number(m?.[1] ?? NaN);
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  redis = await RedisServer.create();
  closed = await startTestServer(realm, onRedis('none'));
  fallback = await startTestServer(realm, onRedis('memory'));
});
after(async () => {
  redis?.resume();
  await closed?.server.close();
  await fallback?.server.close();
  await redis?.destroy();
  await realm?.destroy();
});

test(
  'Redis slow (SIGSTOP): 503 ERR_REPLAY_CACHE_UNAVAILABLE within the deadline, /readyz 503; back after SIGCONT',
  T,
  async () => {
    assert.equal((await readyz(closed)).status, 200);
    const token = await fresh();
    redis.pause();
    try {
      const started = Date.now();
      const r = await negotiateGet(closed.httpPort, token);
      assert.equal(r.status, 503, r.body);
      assert.ok(Date.now() - started < 2000, 'refused at the deadline, not after a long wait');
      const ready = await readyz(closed);
      assert.equal(ready.status, 503);
      assert.match(ready.body, /replay cache unavailable/);
      const failures = await unavailableCount(closed);
      assert.ok(failures >= 1, 'counted under ERR_REPLAY_CACHE_UNAVAILABLE');
    } finally {
      redis.resume();
    }
    await waitUntil(async () => (await readyz(closed)).status === 200, '/readyz 200 again after SIGCONT', 10_000, 100);
    // Refused, never recorded: the same token is accepted once Redis answers.
    assert.equal((await negotiateGet(closed.httpPort, token)).status, 200);
  },
);

async function unavailableCount(ts: TestServer): Promise<number> {
  const text = await ts.server.metrics.render();
  const m = /negotiate_handshake_failures_total\{frontend="http",code="ERR_REPLAY_CACHE_UNAVAILABLE"\} (\d+)/.exec(
    text,
  );
  return Number(m?.[1] ?? 0);
}

test(
  'Redis down (killed): refused at once, /readyz 503; restarted on its port: ready and checking again',
  T,
  async () => {
    await redis.kill();
    await waitUntil(async () => (await readyz(closed)).status === 503, '/readyz 503 once Redis is gone', 5000, 50);
    const r = await negotiateGet(closed.httpPort, await fresh());
    assert.equal(r.status, 503, r.body);
    await redis.start();
    await waitUntil(async () => (await readyz(closed)).status === 200, '/readyz 200 after the restart', 10_000, 100);
    const token = await fresh();
    assert.equal((await negotiateGet(closed.httpPort, token)).status, 200);
    assert.equal((await negotiateGet(closed.httpPort, token)).status, 401, 'replays refused on Redis again');
  },
);

test(
  '--replay-cache-fallback memory: Redis away, handshakes go on checked by the memory cache, loudly',
  T,
  async () => {
    const before = await metric(fallback, 'negotiate_replay_store_fallback_total');
    redis.pause();
    try {
      const token = await fresh();
      assert.equal((await negotiateGet(fallback.httpPort, token)).status, 200);
      const again = await negotiateGet(fallback.httpPort, token);
      assert.equal(again.status, 401, 'the memory cache still refuses the replay');
      assert.equal((await readyz(fallback)).status, 200, 'ready: this server can still check');
      assert.ok((await metric(fallback, 'negotiate_replay_store_fallback_total')) > before);
      assert.equal(await metric(fallback, 'negotiate_replay_store_up'), 0);
    } finally {
      redis.resume();
    }
    await waitUntil(
      async () => (await metric(fallback, 'negotiate_replay_store_up')) === 1,
      'the store up again',
      10_000,
      100,
    );
  },
);

test('a password in the URL is used, and never logged', T, async () => {
  const secured = await RedisServer.create(['--requirepass', 's3cret-pw']);
  const lines: string[] = [];
  const record = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  const ts = await startTestServer(realm, onRedis('none', `redis://:s3cret-pw@127.0.0.1:${secured.port}`, logger));
  try {
    assert.equal((await negotiateGet(ts.httpPort, await fresh())).status, 200);
    await secured.kill(); // an outage is logged with the URL too
    await waitUntil(() => lines.some((l) => l.includes('unavailable')), 'the outage logged', 5000, 50);
  } finally {
    await ts.server.close();
    await secured.destroy();
  }
  const all = lines.join('\n');
  assert.ok(all.includes(':***@127.0.0.1'), all);
  assert.ok(!all.includes('s3cret-pw'), all);
});
