/**
 * Ten thousand idle TCP connections on the sspi front end. The sockets' client ends live in a
 * child process (idleClients.ts) so neither process needs more than `ulimit -n` descriptors;
 * the server runs here, where its RSS and counters are read directly. Proves: the server holds
 * 10,000 connections that never send a byte at a bounded memory cost per connection (printed
 * for the record), a real client still authenticates while they are open, the connection limit
 * refuses the one connection too many, and when the clients leave every connection is closed
 * without a context ever having been created for them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import type { TcpAcceptor } from '../../src/acceptors/TcpAcceptor.js';
import type { HandshakeFailure } from '../../src/handshake/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { startTestRealm } from '../support/realm.js';
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
import { waitUntil } from '../support/waitUntil.js';

const IDLE = 10_000;
/** Generous: Node's socket objects, our per-connection state and timers are a few KB. */
const MAX_BYTES_PER_CONNECTION = 32 * 1024;
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'idleClients.js');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let realm: ThrowawayRealm;
let ts: TestServer;
let sspi: TcpAcceptor;
let child: ChildProcessWithoutNullStreams | undefined;
const failures: HandshakeFailure[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, {
    gssSample: undefined,
    // Idle connections are the subject here: no deadline may close them during the test.
    handshakeTimeoutMs: 120_000,
    idleTimeoutMs: 120_000,
    // Room for the idle ones plus one real client; the one after that is refused.
    maxConnections: IDLE + 1,
  });
  const a = ts.server.acceptors.find((x) => x.framing === 'sspi');
  assert.ok(a, 'the sspi front end is listening');
  sspi = a;
  ts.server.on('handshakeFailed', (f: HandshakeFailure) => failures.push(f));
});

after(async () => {
  if (child && child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  await ts?.server.close(0);
  await realm?.destroy();
});

/** The child's JSON lines, awaited one event at a time with a bound. */
class ChildEvents {
  readonly #queue: Array<Record<string, unknown>> = [];
  #wake: (() => void) | undefined;
  #stderr = '';

  constructor(c: ChildProcessWithoutNullStreams) {
    createInterface({ input: c.stdout }).on('line', (l) => {
      this.#queue.push(JSON.parse(l) as Record<string, unknown>);
      this.#wake?.();
    });
    c.stderr.setEncoding('utf8').on('data', (d: string) => (this.#stderr += d));
  }

  async next(event: string, timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#queue.findIndex((e) => e['event'] === event);
      if (i >= 0) return this.#queue.splice(i, 1)[0] as Record<string, unknown>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no '${event}' from idleClients within ${timeoutMs} ms; stderr: ${this.#stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }
}

function memory(): { rss: number; heapUsed: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

test(
  `${IDLE} idle connections: bounded memory each, a real client authenticates, the limit holds, all close cleanly`,
  { timeout: 120_000 },
  async () => {
    const statsBefore = ts.server.pool.stats();
    const memBefore = memory();

    child = spawn(process.execPath, [CHILD, String(ts.sspiPort), String(IDLE)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const events = new ChildEvents(child);
    const opened = await events.next('opened', 60_000);
    assert.equal(opened['failed'], 0, `every connect succeeds: ${JSON.stringify(opened)}`);
    assert.equal(opened['open'], IDLE);
    await waitUntil(
      () => sspi.connections === IDLE,
      () => `${IDLE} server-side connections, have ${sspi.connections}`,
      30_000,
    );

    const memOpen = memory();
    const perConnection = (memOpen.rss - memBefore.rss) / IDLE;
    const heapPerConnection = (memOpen.heapUsed - memBefore.heapUsed) / IDLE;
    console.log(
      `idle connections: ${IDLE} opened in ${String(opened['ms'])} ms; server RSS ` +
        `${(memBefore.rss / 2 ** 20).toFixed(1)} -> ${(memOpen.rss / 2 ** 20).toFixed(1)} MiB, ` +
        `${Math.round(perConnection)} B RSS and ${Math.round(heapPerConnection)} B JS heap per connection`,
    );
    assert.ok(perConnection < MAX_BYTES_PER_CONNECTION, `${Math.round(perConnection)} B of RSS per idle connection`);
    assert.equal(ts.server.pool.stats().created, statsBefore.created, 'an idle connection creates no security context');

    // A real client among them: a full SPNEGO handshake and the decrypted greeting.
    const session = nextEvent<Session>(ts.server, 'session', 30_000);
    const t0 = Date.now();
    const run = await runClient(
      PYTHON,
      [SSPI_CLIENT, '--port', String(ts.sspiPort), '--timeout', '20', '--mech', 'spnego'],
      realm,
      30_000,
    );
    const clientMs = Date.now() - t0;
    assert.equal(run.code, 0, run.stderr);
    const line = jsonLines(run.stdout)[0];
    assert.equal(line?.['ok'], true, JSON.stringify(line));
    assert.equal(line?.['greeting'], 'This is your server speaking');
    assert.equal((await session).principal, realm.userPrincipal);
    console.log(
      `idle connections: a real SPNEGO client authenticated in ${clientMs} ms (process start included) with ` +
        `${IDLE} idle connections open`,
    );

    // The limit: IDLE + 1. With the real client gone, one more fits; the one after is refused.
    await waitUntil(
      () => sspi.connections === IDLE,
      () => `the real client's connection to close, have ${sspi.connections}`,
      10_000,
    );
    child.stdin.write(JSON.stringify({ op: 'open', n: 2 }) + '\n');
    const extra = await events.next('extra', 20_000);
    assert.equal(extra['opened'], 2, 'both connects complete (the kernel accepts before Node refuses)');
    assert.equal(
      extra['closedByServer'],
      1,
      `exactly one connection beyond maxConnections is closed: ${JSON.stringify(extra)}`,
    );
    assert.equal(sspi.connections, IDLE + 1);
    child.stdin.write(JSON.stringify({ op: 'status' }) + '\n');
    const status = await events.next('status', 10_000);
    assert.equal(status['open'], IDLE + 1, 'no idle connection was closed by the server');
    assert.equal(status['closedByServer'], 1);

    // Everyone leaves: every server-side connection closes and nothing stays in the table.
    child.stdin.write(JSON.stringify({ op: 'close' }) + '\n');
    const closed = await events.next('closed', 60_000);
    assert.equal(closed['count'], IDLE + 1);
    await waitUntil(
      () => sspi.connections === 0,
      () => `0 server-side connections, have ${sspi.connections}`,
      30_000,
    );
    const statsAfter = ts.server.pool.stats();
    assert.equal(statsAfter.live, 0);
    assert.equal(statsAfter.handshaking, 0);
    assert.equal(statsAfter.inUse, 0);
    assert.equal(statsAfter.queued, 0);
    assert.equal(statsAfter.created - statsBefore.created, 1, 'only the real client created a context');
    assert.equal(statsAfter.completed - statsBefore.completed, 1);
    // A connection that leaves before a whole frame is a truncated handshake; nothing else failed.
    const codes = new Set(failures.map((f) => f.code));
    assert.deepEqual([...codes], ['ERR_FRAME_TRUNCATED'], `failure codes: ${[...codes].join(', ')}`);
    assert.equal(failures.length, IDLE + 1);
    const memClosed = memory();
    console.log(
      `idle connections: after all closed, server RSS ${(memClosed.rss / 2 ** 20).toFixed(1)} MiB, JS heap ` +
        `${(memClosed.heapUsed / 2 ** 20).toFixed(1)} MiB`,
    );
  },
);
