/**
 * A worker thread lost in the middle of a handshake: its accept is blocked inside
 * gss_accept_sec_context (the replay cache locked by another process, see replayCacheLock.ts)
 * when the thread is terminated, either directly (AuthPool.terminateWorker, a crash) or by the
 * pool's task timeout. Proves: the affected handshake fails cleanly with a typed error and its
 * client sees the connection close; the server process survives the blocked call's return; the
 * pool replaces the thread; other connections (an established session, an NTLM handshake) go on
 * during the fault; new handshakes succeed after it; no context is leaked.
 *
 * The server runs in a child process (test/support/hostedServer.ts): a crash of the whole process is
 * the failure mode under test, and must be reported here rather than take the runner down.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { encodeSspiFrame } from '../../src/framing/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { Initiator, firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { PYTHON, jsonLines, requirePythonGssapi, runClient, SSPI_CLIENT } from '../support/server.js';
import { RawConn } from '../support/rawConn.js';
import { GssSampleSession } from '../overload/gssSampleSession.js';
import { startHostedServer, type HostEvent, type HostedServer, type HostStats } from '../support/hostedServer.js';
import { waitUntil } from '../support/waitUntil.js';
import { ReplayCacheLock, findReplayCache } from './replayCacheLock.js';

let realm: ThrowawayRealm;
const hosts: HostedServer[] = [];
const initiators: Initiator[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
});

after(async () => {
  for (const i of initiators) i.close();
  await Promise.allSettled(hosts.map((h) => h.close()));
  await realm?.destroy();
});

async function host(options: Record<string, unknown>): Promise<HostedServer> {
  const h = await startHostedServer(realm, { workers: 2, ntlm: true, ...options });
  hosts.push(h);
  return h;
}

/** Runs sspi_client.py; asserts a complete handshake with the decrypted greeting. */
async function assertSspiClientOk(h: HostedServer, args: string[]): Promise<void> {
  const run = await runClient(
    PYTHON,
    [SSPI_CLIENT, '--port', String(h.port('sspi')), '--timeout', '10', ...args],
    realm,
    20_000,
  );
  const line = jsonLines(run.stdout)[0];
  // The arguments may hold the realm's password: never in a failure message.
  const shown = args.map((a) => (a.startsWith('--password') ? '--password=…' : a)).join(' ');
  assert.equal(line?.['ok'], true, `client ${shown}: ${run.stdout} ${run.stderr}`);
  assert.equal(line?.['greeting'], 'This is your server speaking');
}

/**
 * The ids of the pool's threads: as many concurrent stalls as workers land on distinct threads
 * once every thread is ready (a replacement takes a moment to start: until then, retried).
 */
async function threadIds(h: HostedServer, workers: number, timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids = [
      ...new Set(await Promise.all(Array.from({ length: workers }, () => h.request('stall', { ms: 300 })))),
    ].sort((a, b) => a - b);
    if (ids.length === workers || Date.now() > deadline) return ids;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function nextHostEvent(h: HostedServer, name: HostEvent['event'], timeoutMs: number): Promise<HostEvent> {
  const p = new Promise<HostEvent>((resolve, reject) => {
    const timer = setTimeout(() => {
      h.off(name, on);
      reject(new Error(`no '${name}' event within ${timeoutMs} ms; server stderr:\n${h.stderrTail()}`));
    }, timeoutMs);
    const on = (e: HostEvent): void => {
      clearTimeout(timer);
      resolve(e);
    };
    h.once(name, on);
  });
  p.catch(() => undefined);
  return p;
}

/** Polls the server (bounded) until `cond` holds; fails with the last stats and its stderr. */
async function untilStats(
  h: HostedServer,
  cond: (s: HostStats) => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<HostStats> {
  let last: HostStats | undefined;
  await waitUntil(
    async () => cond((last = await h.stats())),
    () => `${what}: ${JSON.stringify(last?.pool)}`,
    timeoutMs,
    20,
  );
  assert.ok(last);
  return last;
}

/** No context, connection, queued task or checked-out context left; the table's books balance. */
async function assertNoLeak(h: HostedServer): Promise<void> {
  const s = await untilStats(
    h,
    (x) =>
      x.pool.live === 0 &&
      x.pool.inUse === 0 &&
      x.pool.queued === 0 &&
      Object.values(x.connections).every((n) => n === 0),
    'an empty context table and no connection',
  );
  assert.equal(s.pool.handshaking, 0);
  assert.equal(s.pool.established, 0);
  assert.equal(
    s.pool.created,
    s.pool.failed + s.pool.released + s.pool.expired,
    `every context created was freed: ${JSON.stringify(s.pool)}`,
  );
}

function assertAlive(h: HostedServer): void {
  assert.equal(
    h.exitStatus,
    undefined,
    `the server process died (${JSON.stringify(h.exitStatus)}):\n${h.stderrTail()}`,
  );
}

test(
  'a worker terminated in gss_accept_sec_context: typed failure, thread replaced, others unaffected, nothing leaked',
  { timeout: 60_000 },
  async () => {
    const h = await host({});
    const [token] = await firstTokens(realm, { mech: 'krb5' }, 1);
    await assertSspiClientOk(h, ['--mech', 'krb5']); // also creates the replay cache file
    const rcache = await findReplayCache(realm.rcacheDir);
    const before = await threadIds(h, 2);
    assert.equal(before.length, 2, 'two worker threads');

    const ini = Initiator.start(realm, { mech: 'krb5' });
    initiators.push(ini);
    const session = await GssSampleSession.open(h.port('gss-sample'), ini);

    const lock = await ReplayCacheLock.acquire(rcache);
    let locked = true;
    const victim = await RawConn.connect(h.port('sspi'));
    try {
      const failed = nextHostEvent(h, 'handshakeFailed', 20_000);
      await victim.write(encodeSspiFrame(token as Buffer));
      // The accept has its context checked out: it is inside GSSAPI, waiting for the lock.
      await untilStats(h, (s) => s.pool.inUse === 1, 'the accept to be running');
      const free = await h.request('stall', { ms: 0 });
      const blocked = before.find((id) => id !== free);
      assert.ok(blocked !== undefined, `the blocked thread is the one that is not ${free}`);

      // Other connections go on meanwhile, on the other thread.
      await session.roundTrip();
      // --password=...: the random password may begin with '-', which argparse would take for an option.
      await assertSspiClientOk(h, ['--mech', 'ntlm', '--user', realm.ntlmUser, `--password=${realm.password}`]);

      // The crash. A thread inside a native call ends when the call returns: unlock soon after.
      const terminated = h.request('terminateWorker', { threadId: blocked }, 20_000);
      await new Promise((r) => setTimeout(r, 200));
      lock.release();
      locked = false;
      assert.equal(await terminated, true, 'the thread was found and terminated');

      const f = await failed;
      assert.equal(f.code, 'ERR_POOL_WORKER_DIED', `${f.code}: ${f.message ?? ''}`);
      assert.equal(f.frontend, 'sspi');
      const rest = await victim.readToEnd(10_000);
      assert.equal(rest.bytes.length, 0, 'the victim receives no reply, its connection is closed');
      assertAlive(h);

      // The pool replaced the thread.
      const afterIds = await threadIds(h, 2);
      assert.equal(afterIds.length, 2, `two worker threads again: ${afterIds.join(', ')}`);
      assert.ok(!afterIds.includes(blocked), `thread ${blocked} is gone (now ${afterIds.join(', ')})`);

      // Business as usual: new handshakes on both threads, and the old session.
      await Promise.all([assertSspiClientOk(h, ['--mech', 'spnego']), assertSspiClientOk(h, ['--mech', 'krb5'])]);
      await session.roundTrip();
      await session.end();
    } finally {
      if (locked) lock.release();
      victim.destroy();
      session.conn.destroy();
    }
    assertAlive(h);
    await assertNoLeak(h);
  },
);

test(
  'task timeout while an accept is blocked in GSSAPI: ERR_POOL_TASK_TIMEOUT; the server survives the call’s return',
  { timeout: 60_000 },
  async () => {
    const TASK_TIMEOUT = 1000;
    const h = await host({ taskTimeoutMs: TASK_TIMEOUT });
    const [token] = await firstTokens(realm, { mech: 'krb5' }, 1);
    await assertSspiClientOk(h, ['--mech', 'krb5']);
    const rcache = await findReplayCache(realm.rcacheDir);
    const before = await threadIds(h, 2);

    const lock = await ReplayCacheLock.acquire(rcache);
    let locked = true;
    const victim = await RawConn.connect(h.port('sspi'));
    try {
      const failed = nextHostEvent(h, 'handshakeFailed', 10_000);
      const sentAt = Date.now();
      await victim.write(encodeSspiFrame(token as Buffer));
      const f = await failed;
      const after = Date.now() - sentAt;
      assert.equal(f.code, 'ERR_POOL_TASK_TIMEOUT', `${f.code}: ${f.message ?? ''}`);
      assert.ok(
        after >= TASK_TIMEOUT - 50 && after < TASK_TIMEOUT + 2000,
        `failed after ${after} ms, task timeout ${TASK_TIMEOUT}`,
      );
      const rest = await victim.readToEnd(5000);
      assert.equal(rest.bytes.length, 0, 'the victim receives no reply, its connection is closed');

      // The abandoned call is still inside GSSAPI. Let it return into its terminated thread: the
      // process must not notice.
      await new Promise((r) => setTimeout(r, 300));
      lock.release();
      locked = false;
      await new Promise((r) => setTimeout(r, 1500));
      assertAlive(h);
      await h.stats();
      assertAlive(h);

      const afterIds = await threadIds(h, 2);
      assert.equal(afterIds.length, 2, `two worker threads again: ${afterIds.join(', ')}`);
      assert.ok(
        afterIds.some((id) => !before.includes(id)),
        `a new thread replaced the timed-out one (before ${before.join(', ')}, after ${afterIds.join(', ')})`,
      );
      await Promise.all([assertSspiClientOk(h, ['--mech', 'spnego']), assertSspiClientOk(h, ['--mech', 'krb5'])]);
    } finally {
      if (locked) lock.release();
      victim.destroy();
    }
    assertAlive(h);
    await assertNoLeak(h);
  },
);
