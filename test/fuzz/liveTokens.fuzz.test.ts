/**
 * A bounded fuzz run against a live server: random tokens and damaged real ones (Kerberos
 * AP-REQs raw and in SPNEGO, NTLM NEGOTIATE and AUTHENTICATE messages, with NTLM enabled so
 * gss-ntlmssp parses them too) sent as first tokens over the sspi TCP framing and as
 * `Authorization: Negotiate` over HTTP, 8 clients at a time, until 2000 inputs or 20 s,
 * whichever comes first.
 *
 * A warm-up of WARMUP_INPUTS inputs comes first (RSS is read after it), then the measured run.
 * It proves: every input gets exactly one outcome (a typed failure event, or a session for a
 * damaged token Kerberos cannot tell from the original: always alice), the server answers or
 * closes every connection in time, the context table drains to empty, RSS grows less than
 * RSS_BOUND_BYTES over the run, and real clients authenticate afterwards on both front ends.
 *
 * Inputs come from a seeded PRNG (NEGOTIATE_FUZZ_SEED); the base tokens are fresh each run.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { encodeSspiFrame } from '../../src/framing/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { mulberry32 } from '../support/framing.js';
import { Initiator, firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { legitHandshake, ServerWatch } from '../hostile/harness.js';
import { mutate, type MutationKind } from '../hostile/mutations.js';
import { RawConn } from '../support/rawConn.js';
import { waitUntil } from '../support/waitUntil.js';

const SEED = Number(process.env['NEGOTIATE_FUZZ_SEED'] ?? 0x4c49_5645);
const MAX_INPUTS = 2000;
const MAX_RUN_MS = 20_000;
/**
 * Inputs sent before the first RSS reading. RSS climbs over the first few thousand inputs
 * (malloc arenas of the worker threads, socket buffers) and then stays flat: measured over
 * rounds of 2000 inputs, 120 -> 131 -> 133 -> 135 -> 136 -> 137 MiB.
 */
const WARMUP_INPUTS = 4000;
const CONCURRENCY = 8;
const MAX_TOKEN_BYTES = 8192;
/** Each connection must be answered or closed by then (the server's handshake deadline is 10 s). */
const CONNECTION_TIMEOUT_MS = 12_000;
/** RSS growth allowed across the measured run, after the warm-up and with GC before both readings. */
const RSS_BOUND_BYTES = 24 * 1024 * 1024;

const FAILURE_CODE = /^(ERR_GSS_[A-Z_]+|ERR_FRAME_TRUNCATED|ERR_HTTP_MULTI_LEG_UNSUPPORTED)$/;

let realm: ThrowawayRealm;
let ts: TestServer;
let watch: ServerWatch;
let bases: Buffer[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  ts = await startTestServer(realm, {
    ntlm: true,
    maxTokenBytes: MAX_TOKEN_BYTES,
    http: { host: '127.0.0.1', port: 0 },
  });
  watch = new ServerWatch(ts.server);
  bases = [
    ...(await firstTokens(realm, { mech: 'krb5' }, 30)),
    ...(await firstTokens(realm, { mech: 'spnego' }, 30)),
    ...(await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 20)),
    ...(await ntlmMessages()),
  ];
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
});

/**
 * NTLM bases: a NEGOTIATE (raw and in SPNEGO) and a real AUTHENTICATE, taken from a complete
 * handshake with the server, so its damaged copies arrive on fresh connections with no
 * challenge behind them.
 */
async function ntlmMessages(): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const spnego = Initiator.start(realm, { mech: 'spnego-ntlm' });
  try {
    out.push((await spnego.step()).token);
  } finally {
    spnego.close();
  }
  const init = Initiator.start(realm, { mech: 'ntlm' });
  const c = await RawConn.connect(ts.sspiPort);
  try {
    const negotiate = (await init.step()).token;
    await c.write(encodeSspiFrame(negotiate));
    const challenge = await c.readSspiFrame();
    const authenticate = (await init.step(challenge)).token;
    assert.equal(authenticate.readUInt32LE(8), 3, 'an NTLM AUTHENTICATE_MESSAGE');
    await c.write(encodeSspiFrame(authenticate));
    await c.readToEnd();
    out.push(negotiate, authenticate);
  } finally {
    c.destroy();
    init.close();
  }
  return out;
}

function forceGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

interface RunStats {
  inputs: number;
  elapsedMs: number;
  kinds: Partial<Record<MutationKind, number>>;
  /** Connections the server neither answered nor closed in time, or HTTP answers other than 200/401. */
  anomalies: string[];
}

async function sendOverSspi(token: Buffer): Promise<string | undefined> {
  const c = await RawConn.connect(ts.sspiPort);
  try {
    await c.write(encodeSspiFrame(token));
    try {
      // A reply (error token, or the next leg of a handshake the damage did not stop)...
      await c.readSspiFrame(CONNECTION_TIMEOUT_MS);
    } catch {
      // ...or the server closed first. Either way the server has spoken; anything else is not.
      if (!c.closed) return `sspi: neither a reply nor a close within ${CONNECTION_TIMEOUT_MS} ms`;
    }
    return undefined;
  } finally {
    c.destroy();
  }
}

async function sendOverHttp(token: Buffer): Promise<string | undefined> {
  const c = await RawConn.connect(ts.httpPort);
  try {
    await c.write(
      Buffer.from(
        `GET /whoami HTTP/1.1\r\nHost: localhost\r\nAuthorization: Negotiate ` +
          `${token.toString('base64')}\r\nConnection: close\r\n\r\n`,
        'latin1',
      ),
    );
    const { bytes } = await c.readToEnd(CONNECTION_TIMEOUT_MS);
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(bytes.toString('latin1'))?.[1];
    return status === '401' || status === '200'
      ? undefined
      : `http: status ${status ?? 'none'} for a ${token.length}-byte token`;
  } catch (err) {
    return `http: ${String(err)}`;
  } finally {
    c.destroy();
  }
}

/** Sends inputs `first`, `first + 1`, ... from CONCURRENCY clients until `maxInputs` or `maxMs`. */
async function fuzz(first: number, maxInputs: number, maxMs: number): Promise<RunStats> {
  const started = Date.now();
  const stats: RunStats = { inputs: 0, elapsedMs: 0, kinds: {}, anomalies: [] };
  let next = first;
  const client = async (): Promise<void> => {
    while (next - first < maxInputs && Date.now() - started < maxMs) {
      const i = next++;
      const { kind, token } = mutate(mulberry32(SEED ^ Math.imul(i + 1, 0x9e37_79b1)), bases, MAX_TOKEN_BYTES);
      stats.kinds[kind] = (stats.kinds[kind] ?? 0) + 1;
      const anomaly = i % 2 === 0 ? await sendOverSspi(token) : await sendOverHttp(token);
      if (anomaly !== undefined) stats.anomalies.push(`input ${i} (${kind}, seed ${SEED}): ${anomaly}`);
      stats.inputs++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  stats.elapsedMs = Date.now() - started;
  return stats;
}

test(
  `live fuzz: up to ${MAX_INPUTS} random/damaged tokens or ${MAX_RUN_MS / 1000} s on sspi, HTTP: all answered, no leak`,
  { timeout: 120_000 },
  async (t) => {
    await watch.drained();
    // Warm-up: first-use allocations (allocator arenas, replay cache, JIT) are not a leak.
    const m0 = watch.mark();
    const warm = await fuzz(0, WARMUP_INPUTS, MAX_RUN_MS);
    assert.deepEqual(warm.anomalies, []);
    await waitUntil(
      () => watch.failures.length + watch.sessions.length - m0.failures - m0.sessions >= warm.inputs,
      'an outcome for every warm-up input',
      15_000,
    );
    await watch.drained();
    forceGc();
    const rssBefore = process.memoryUsage().rss;
    const before = watch.stats();

    const m = watch.mark();
    const run = await fuzz(WARMUP_INPUTS, MAX_INPUTS, MAX_RUN_MS);
    assert.ok(run.inputs > 0);
    assert.ok(run.elapsedMs < MAX_RUN_MS + CONNECTION_TIMEOUT_MS, `the run stopped on time: ${run.elapsedMs} ms`);
    assert.deepEqual(run.anomalies.slice(0, 10), [], `${run.anomalies.length} connections misbehaved`);

    // Exactly one outcome per input: a failure event or a session.
    const outcomes = (): number => watch.failures.length - m.failures + (watch.sessions.length - m.sessions);
    await waitUntil(
      () => outcomes() >= run.inputs,
      () => `an outcome for each of ${run.inputs} inputs, have ${outcomes()}`,
      15_000,
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(outcomes(), run.inputs, 'no input produced two outcomes');
    const codes = new Map<string, number>();
    for (const f of watch.failures.slice(m.failures)) {
      assert.match(f.code, FAILURE_CODE, f.message);
      codes.set(f.code, (codes.get(f.code) ?? 0) + 1);
    }
    const sessions = watch.sessions.slice(m.sessions);
    for (const s of sessions)
      assert.ok(
        [realm.userPrincipal, realm.ntlmUser].includes(s.principal),
        `a damaged token authenticated ${s.principal}`,
      );

    const after = await watch.drained(10_000);
    assert.equal(
      after.created - before.created,
      after.failed - before.failed + (after.released - before.released) + (after.expired - before.expired),
    );
    forceGc();
    const rssAfter = process.memoryUsage().rss;
    const grown = rssAfter - rssBefore;
    t.diagnostic(
      `seed ${SEED}: ${run.inputs} inputs in ${run.elapsedMs} ms ` +
        `(${Math.round((run.inputs * 1000) / run.elapsedMs)}/s), ` +
        `kinds ${JSON.stringify(run.kinds)}, codes ${JSON.stringify(Object.fromEntries(codes))}, ` +
        `sessions ${sessions.length}, contexts created ${after.created - before.created}, ` +
        `RSS ${Math.round(rssBefore / 1048576)} -> ${Math.round(rssAfter / 1048576)} MiB ` +
        `(${(grown / 1048576).toFixed(1)} MiB)`,
    );
    assert.ok(
      grown < RSS_BOUND_BYTES,
      `RSS grew by ${(grown / 1048576).toFixed(1)} MiB over the run (bound ${RSS_BOUND_BYTES / 1048576} MiB)`,
    );

    // Real clients, right after, on both front ends.
    await legitHandshake(watch, realm, ts, 'sspi');
    await legitHandshake(watch, realm, ts, 'http');
  },
);
