/**
 * `--replay-cache redis://...`: two servers (same keytab, same Redis) refuse each other's
 * replays. A token captured from python3-gssapi is accepted by A, then refused by B and by A
 * again; fresh tokens pass on both; the same over WebSocket, gss-sample, and the node:http engine
 * (the NegotiateAuthenticator adapter). What Redis holds: one key per authenticator with the PX TTL
 * of 2 x clock skew, named by a tag that holds no token bytes. The per-principal quota.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { DEFAULT_SHARED_REPLAY_CACHE } from '../../src/replay/sharedReplayOptions.js';
import { negotiateGet } from '../support/httpGet.js';
import { firstTokens } from '../support/initiator.js';
import { nextEvent } from '../support/events.js';
import { failureCode } from '../support/outcome.js';
import { startTestRealm } from '../support/realm.js';
import { RedisServer } from '../support/redisServer.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { RawConn } from '../support/rawConn.js';
import { waitUntil } from '../support/waitUntil.js';
import { wsExchange } from '../support/wsExchange.js';
import { encodeGssSampleFrame, TokenFlag } from '../../src/framing/gssSampleFrame.js';
import { WS_CLOSE } from '../../src/acceptors/WsAcceptor.js';
import { acceptSecurityContext, acquireCredentialsHandle, SecurityContextHandle } from '../../src/sspi.js';
import type { HandshakeFailure } from '../../src/handshake/index.js';

const T = { timeout: 60_000 };
const SERVICE = 'HTTP@localhost';
let realm: ThrowawayRealm;
let redis: RedisServer;
let client: Redis;
let a: TestServer;
let b: TestServer;

function onRedis(prefix = DEFAULT_SHARED_REPLAY_CACHE.prefix, quota?: number): Parameters<typeof startTestServer>[1] {
  return {
    replayCache: `redis://127.0.0.1:${redis.port}`,
    sharedReplayCache: { ...DEFAULT_SHARED_REPLAY_CACHE, prefix, timeoutMs: 2000 },
    ...(quota === undefined ? {} : { replayCachePrincipalQuota: quota }),
    http: { host: '127.0.0.1', port: 0 },
    wsPath: '/ws',
  };
}

/** The value of the metrics series `series` (name and labels, exactly as rendered) on `ts`. */
async function count(ts: TestServer, series: string): Promise<number> {
  const text = await ts.server.metrics.render();
  return Number(new RegExp(`${series.replace(/[{}]/g, '\\$&')} (\\d+)`).exec(text)?.[1] ?? 0);
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  redis = await RedisServer.create();
  client = redis.client();
  a = await startTestServer(realm, onRedis());
  b = await startTestServer(realm, onRedis());
});
after(async () => {
  await a?.server.close();
  await b?.server.close();
  client?.disconnect();
  await redis?.destroy();
  await realm?.destroy();
});

test('a token accepted by A is refused by B and by A again, as a replay; fresh tokens pass on both', T, async () => {
  const [captured, freshA, freshB] = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 3);
  assert.ok(captured && freshA && freshB);
  const first = await negotiateGet(a.httpPort, captured);
  assert.equal(first.status, 200, first.body);
  assert.match(first.body, /alice@/);
  for (const [name, port] of [
    ['B', b.httpPort],
    ['A', a.httpPort],
  ] as const) {
    const again = await negotiateGet(port, captured);
    assert.equal(again.status, 401, `${name}: ${again.body}`);
    assert.match(again.body, /ERR_GSS_REPLAY|replay/i);
    assert.equal(again.headers['www-authenticate'] ?? 'Negotiate', 'Negotiate', 'no mutual token for a replay');
  }
  assert.equal((await negotiateGet(a.httpPort, freshA)).status, 200);
  assert.equal((await negotiateGet(b.httpPort, freshB)).status, 200);
  const replays = /negotiate_replay_rejections_total (\d+)/.exec(await b.server.metrics.render());
  assert.equal(replays?.[1], '1', 'B counted the replay in the replay metric');
});

test(
  'raw krb5 through the pool (every front end accepts through it): a replay is ERR_GSS_REPLAY on the other server',
  T,
  async () => {
    const [token] = await firstTokens(realm, { mech: 'krb5', service: SERVICE }, 1);
    assert.ok(token);
    assert.equal(await failureCode(a.server.pool.accept(9_000_001, token, { releaseAfter: true })), 'accepted');
    assert.equal(await failureCode(b.server.pool.accept(9_000_002, token)), 'ERR_GSS_REPLAY');
    assert.equal(b.server.pool.stats().live, 0, 'the replayed context was deleted');
  },
);

test('Redis holds one key per authenticator: PX 2 x clock skew, a 32-hex tag, no token bytes', T, async (t) => {
  await client.flushdb();
  const [token] = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 1);
  assert.ok(token);
  assert.equal((await negotiateGet(a.httpPort, token)).status, 200);
  const keys = (await client.keys('*')).sort();
  const tags = keys.filter((k) => !k.includes(':quota:'));
  assert.equal(tags.length, 1, keys.join(' '));
  const key = tags[0] ?? '';
  assert.match(key, new RegExp(`^negotiate:rc:HTTP/localhost@${realm.realmName.replace(/\./g, '\\.')}:[0-9a-f]{32}$`));
  assert.equal(await client.get(key), '1');
  const ttl = await client.pttl(key);
  // krb5.conf's default clock skew, 300 s: the window is 600 s.
  assert.ok(ttl > 590_000 && ttl <= 600_000, `PTTL ${ttl}`);
  const tag = key.slice(key.lastIndexOf(':') + 1);
  const hex = token.toString('hex');
  for (let i = 0; i + 8 <= tag.length; i += 8)
    assert.ok(!hex.includes(tag.slice(i, i + 8)), 'the tag holds no run of the token bytes');
  const quota = keys.find((k) => k.includes(':quota:'));
  assert.ok(
    quota !== undefined && !quota.includes('alice'),
    `the principal's counter is named by a hash: ${keys.join(' ')}`,
  );
  const bytes = await client.call('MEMORY', 'USAGE', key);
  assert.equal(typeof bytes, 'number');
  t.diagnostic(`MEMORY USAGE of a tag key: ${String(bytes)} bytes`);
});

test(
  'the per-principal quota: beyond it the principal is refused (ERR_REPLAY_QUOTA), replays still read as replays',
  T,
  async () => {
    const limited = await startTestServer(realm, onRedis('quota-test:', 2));
    try {
      const tokens = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 3);
      const [t1, t2, t3] = tokens;
      assert.ok(t1 && t2 && t3);
      assert.equal((await negotiateGet(limited.httpPort, t1)).status, 200);
      assert.equal((await negotiateGet(limited.httpPort, t2)).status, 200);
      const over = await negotiateGet(limited.httpPort, t3);
      assert.notEqual(over.status, 200);
      assert.match(over.body, /ERR_REPLAY_QUOTA|share of the shared replay cache/);
      const replay = await negotiateGet(limited.httpPort, t1);
      assert.match(replay.body, /ERR_GSS_REPLAY|replay/i);
    } finally {
      await limited.server.close();
    }
  },
);

test(
  'gss-sample over TCP: a raw krb5 token accepted by A is refused by B as a replay (counted per front end)',
  T,
  async () => {
    const [token] = await firstTokens(realm, { mech: 'krb5', service: 'host@localhost' }, 1);
    assert.ok(token);
    const success = 'negotiate_handshakes_total{frontend="gss-sample",mech="krb5",outcome="success"}';
    const replay = 'negotiate_handshake_failures_total{frontend="gss-sample",code="ERR_GSS_REPLAY"}';
    for (const [ts, expect] of [
      [a, success],
      [b, replay],
    ] as const) {
      const before = await count(ts, expect);
      const conn = await RawConn.connect(ts.gssSamplePort);
      try {
        // As gss-client opens: NOOP | CONTEXT_NEXT, then the context token.
        await conn.write(encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT));
        await conn.write(encodeGssSampleFrame(TokenFlag.CONTEXT, token));
        await waitUntil(async () => (await count(ts, expect)) === before + 1, expect, 10_000, 20);
      } finally {
        conn.destroy();
      }
    }
  },
);

test(
  'WebSocket: a token accepted by A is refused by B as a replay (close 1008, ERR_GSS_REPLAY, counted)',
  T,
  async () => {
    const [token] = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 1);
    assert.ok(token);
    const first = await wsExchange(a.httpPort, token);
    assert.ok(first.text !== undefined, `A closed with ${first.closeCode} ${first.closeReason}`);
    assert.match(first.text, /"principal":"alice@/);
    const series = 'negotiate_handshake_failures_total{frontend="ws",code="ERR_GSS_REPLAY"}';
    const before = await count(b, series);
    const failed = nextEvent<HandshakeFailure>(b.server, 'handshakeFailed');
    const again = await wsExchange(b.httpPort, token);
    assert.deepEqual(
      { code: again.closeCode, reason: again.closeReason, text: again.text, tokens: again.binaries.length },
      { code: WS_CLOSE.POLICY_VIOLATION, reason: 'authentication failed', text: undefined, tokens: 0 },
    );
    const failure = await failed;
    assert.deepEqual([failure.frontend, failure.code], ['ws', 'ERR_GSS_REPLAY']);
    assert.equal(await count(b, series), before + 1);
  },
);

test(
  'the node:http engine (NegotiateAuthenticator) on the same Redis: refuses what A accepted, and A what it accepted',
  T,
  async () => {
    const c = await startTestServer(realm, { ...onRedis(), httpEngine: 'node', wsPath: undefined });
    try {
      const [fromA, fromC] = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 2);
      assert.ok(fromA && fromC);
      assert.equal((await negotiateGet(a.httpPort, fromA)).status, 200);
      const replayed = await negotiateGet(c.httpPort, fromA);
      assert.equal(replayed.status, 401, replayed.body);
      assert.equal(replayed.headers['www-authenticate'] ?? 'Negotiate', 'Negotiate', 'no mutual token for a replay');
      const accepted = await negotiateGet(c.httpPort, fromC);
      assert.equal(accepted.status, 200, accepted.body);
      assert.equal((await negotiateGet(a.httpPort, fromC)).status, 401);
      assert.equal(await count(c, 'negotiate_handshake_failures_total{frontend="adapter",code="ERR_GSS_REPLAY"}'), 1);
    } finally {
      await c.server.close();
    }
  },
);

test(
  'the SSPI-style API takes the shared cache options: its keys carry its prefix; a replay is refused',
  T,
  async () => {
    const handle = await acquireCredentialsHandle({
      keytab: realm.keytab,
      replayCache: `redis://127.0.0.1:${redis.port}`,
      sharedReplayCache: { prefix: 'sspi-api:', timeoutMs: 2000 },
      workers: 1,
    });
    try {
      const [token] = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 1);
      assert.ok(token);
      const first = new SecurityContextHandle();
      assert.equal((await acceptSecurityContext(handle, first, token)).status, 'SEC_E_OK');
      first.delete();
      const keys = await client.keys('sspi-api:*');
      assert.equal(
        keys.filter((k) => !k.includes(':quota:')).length,
        1,
        `keys under the handle's prefix: ${keys.join(' ')}`,
      );
      const again = new SecurityContextHandle();
      await assert.rejects(acceptSecurityContext(handle, again, token), { code: 'ERR_GSS_REPLAY' });
      again.delete();
    } finally {
      await handle.free();
    }
  },
);
