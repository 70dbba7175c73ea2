/**
 * Hostile framing on both raw-TCP front ends (sspi: `[u32 LE N][N]`; gss-sample:
 * `[flags][u32 BE N][N]`): empty and oversized frames, frames dribbled one byte per TCP segment,
 * frames that never complete, bytes after the handshake, the flagless v1 format, unknown flag
 * bytes, and data frames before a context exists.
 *
 * Every case checks the code the server reports ('handshakeFailed', or for errors after the
 * handshake the 'connection ended with an error' log record, which raises no event), how the
 * connection ends, that the context table is back to empty, and that a real Kerberos client
 * of the same front end authenticates right after.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { encodeGssSampleFrame, encodeSspiFrame, TokenFlag } from '../../src/framing/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { firstTokens } from '../support/initiator.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, runClient, startTestServer, type TestServer } from '../support/server.js';
import { legitHandshake, recordingLogger, ServerWatch, type FailureEvent } from './harness.js';
import { openGssSampleSession, sspiKrb5Handshake } from './initiatorSessions.js';
import { RawConn, sendAndCollect } from '../support/rawConn.js';
import { waitUntil } from '../support/waitUntil.js';

const MAX_TOKEN = 65536;
/** The short-deadline server's handshakeTimeoutMs. */
const DEADLINE_MS = 400;
const T = { timeout: 30_000 };

let realm: ThrowawayRealm;
let main: TestServer;
let watch: ServerWatch;
/** Same realm, handshakeTimeoutMs 400: for frames that never complete. */
let short: TestServer;
let shortWatch: ServerWatch;

before(async () => {
  requirePythonGssapi();
  requireTool('gss-client', 'krb5-gss-samples');
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  const rec = recordingLogger();
  // Unauthenticated (-na) sessions allowed: the cases below check their framing too.
  main = await startTestServer(realm, { ntlm: false, maxTokenBytes: MAX_TOKEN, logger: rec.logger, gssSampleAllowUnauthenticated: true });
  watch = new ServerWatch(main.server, rec.records);
  short = await startTestServer(realm, { ntlm: false, workers: 1, handshakeTimeoutMs: DEADLINE_MS });
  shortWatch = new ServerWatch(short.server);
});

after(async () => {
  await Promise.allSettled([main?.server.close(0), short?.server.close(0)]);
  await realm?.destroy();
});

const gss = encodeGssSampleFrame;
const NOOP = TokenFlag.NOOP;
const START_CONTEXT = TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT;

function sspiPrefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}

function gssHeader(flags: number, n: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = flags;
  b.writeUInt32BE(n, 1);
  return b;
}

/** Fresh raw-krb5 AP-REQs for host@localhost. */
function firstKrb5Tokens(n: number): Promise<Buffer[]> {
  return firstTokens(realm, { mech: 'krb5' }, n);
}

/** A body no mechanism claims: not 0x60 (GSS), 0x6E (raw AP-REQ) or 'N' (NTLMSSP). */
function garbageToken(n = 64): Buffer {
  const b = randomBytes(n);
  b[0] = 0xa5;
  return b;
}

/**
 * Sends `bytes` in one write and expects the server to refuse the handshake with `code`,
 * closing the connection without a reply (framing errors send nothing, and neither does
 * GSSAPI for the garbage used here) and creating `contexts` security contexts (default none).
 */
async function expectRefused(
  w: ServerWatch,
  port: number,
  frontend: 'sspi' | 'gss-sample',
  bytes: Buffer,
  code: string,
  opts: { contexts?: number } = {},
): Promise<FailureEvent> {
  await w.drained();
  const before = w.stats();
  const m = w.mark();
  const r = await sendAndCollect(port, bytes);
  const f = await w.failureSince(m);
  assert.equal(f.code, code, f.message);
  assert.equal(f.frontend, frontend);
  assert.equal(r.bytes.length, 0, `no reply bytes, got ${r.bytes.length}`);
  assert.equal(w.sessions.length, m.sessions, 'no session');
  const after = await w.drained();
  assert.equal(after.created - before.created, opts.contexts ?? 0, 'security contexts created');
  return f;
}

// -------------------------------------------------------------------------------- zero length

test('sspi: a zero-length frame is ERR_FRAME_EMPTY, closed, no context; then a real client authenticates', T, async () => {
  await expectRefused(watch, main.sspiPort, 'sspi', sspiPrefix(0), 'ERR_FRAME_EMPTY');
  // Also with a body after it in the same write: the empty prefix alone decides.
  await expectRefused(watch, main.sspiPort, 'sspi', Buffer.concat([sspiPrefix(0), garbageToken()]), 'ERR_FRAME_EMPTY');
  await legitHandshake(watch, realm, main, 'sspi');
});

test('gss-sample: an empty context token is ERR_FRAME_UNEXPECTED; empty NOOPs stay legal', T, async () => {
  await expectRefused(watch, main.gssSamplePort, 'gss-sample', Buffer.concat([gss(START_CONTEXT), gss(TokenFlag.CONTEXT)]), 'ERR_FRAME_UNEXPECTED');
  // An empty NOOP opening an unauthenticated session, an empty DATA answered by a NOOP, and the
  // closing NOOP: the documented -na exchange, no failure, no context.
  const before = watch.stats();
  const m = watch.mark();
  const r = await sendAndCollect(main.gssSamplePort, Buffer.concat([gss(NOOP), gss(TokenFlag.DATA), gss(NOOP)]));
  assert.deepEqual([...r.bytes], [...gss(NOOP)], 'one NOOP reply to the DATA frame, then a clean close');
  assert.equal(r.how, 'eof');
  assert.equal(watch.failures.length, m.failures);
  assert.equal((await watch.drained()).created, before.created);
  await legitHandshake(watch, realm, main, 'gss-sample');
});

// ------------------------------------------------------------------------ length above maximum

test('sspi: lengths above maxTokenBytes are refused from the prefix alone; exactly the maximum reaches GSSAPI', T, async () => {
  for (const n of [MAX_TOKEN + 1, 0x7fff_ffff, 0xffff_ffff]) {
    const c = await RawConn.connect(main.sspiPort);
    const m = watch.mark();
    const sent = Date.now();
    try {
      // The prefix and a first slice of the "body": neither may make the server buffer it.
      await c.write(Buffer.concat([sspiPrefix(n), randomBytes(4096)]));
      const closedAt = await c.waitClosed(5000);
      assert.ok(closedAt - sent < 1000, `closed ${closedAt - sent} ms after the prefix`);
      assert.equal(c.buffered.length, 0);
    } finally {
      c.destroy();
    }
    const f = await watch.failureSince(m);
    assert.equal(f.code, 'ERR_FRAME_TOO_LARGE', f.message);
    assert.match(f.message, new RegExp(`length ${n} bytes exceeds the limit of ${MAX_TOKEN}`));
  }
  await watch.drained();
  // At the limit the frame is whole and legal: GSSAPI refuses the garbage inside.
  await expectRefused(watch, main.sspiPort, 'sspi', encodeSspiFrame(garbageToken(MAX_TOKEN)), 'ERR_GSS_DEFECTIVE_TOKEN', { contexts: 1 });
  await legitHandshake(watch, realm, main, 'sspi');
});

test('gss-sample: lengths above maxTokenBytes are refused from the header alone, in and after the NOOP', T, async () => {
  await expectRefused(watch, main.gssSamplePort, 'gss-sample', Buffer.concat([gssHeader(START_CONTEXT, MAX_TOKEN + 1), randomBytes(4096)]), 'ERR_FRAME_TOO_LARGE');
  const f = await expectRefused(
    watch,
    main.gssSamplePort,
    'gss-sample',
    Buffer.concat([gss(START_CONTEXT), gssHeader(TokenFlag.CONTEXT, 0xffff_ffff), randomBytes(4096)]),
    'ERR_FRAME_TOO_LARGE',
  );
  assert.match(f.message, /length 4294967295 bytes \(flags 0x02\) exceeds the limit of 65536/);
  await legitHandshake(watch, realm, main, 'gss-sample');
});

// ------------------------------------------------------- one byte per TCP segment, with pauses

test('sspi: a valid AP-REQ dribbled one byte per segment still authenticates (mutual, greeting decrypted)', T, async () => {
  const m = watch.mark();
  await sspiKrb5Handshake(realm, main.sspiPort, { how: { chunkBytes: 1, delayMs: 1 } });
  assert.equal(watch.sessions.length - m.sessions, 1);
  assert.deepEqual(watch.failures.slice(m.failures), []);
  await watch.drained();
});

test('sspi: dribbled bad frames fail properly: garbage token, oversized and empty prefixes', T, async () => {
  // Garbage, byte by byte: the frame is whole only at its last byte, and GSSAPI refuses it.
  let m = watch.mark();
  let c = await RawConn.connect(main.sspiPort);
  try {
    const frame = encodeSspiFrame(garbageToken(200));
    assert.equal(await c.dribble(frame, { chunkBytes: 1, delayMs: 1 }), frame.length);
    await c.waitClosed(5000);
  } finally {
    c.destroy();
  }
  assert.equal((await watch.failureSince(m)).code, 'ERR_GSS_DEFECTIVE_TOKEN');
  // Oversized and empty prefixes: refused at the prefix's fourth byte, before any body byte.
  for (const [prefix, code] of [
    [sspiPrefix(MAX_TOKEN + 1), 'ERR_FRAME_TOO_LARGE'],
    [sspiPrefix(0), 'ERR_FRAME_EMPTY'],
  ] as const) {
    m = watch.mark();
    c = await RawConn.connect(main.sspiPort);
    try {
      // Prefix then a would-be body, 10 ms apart: the server must close before the body starts.
      const sent = await c.dribble(Buffer.concat([prefix, Buffer.alloc(200, 0x41)]), { chunkBytes: 1, delayMs: 10 });
      await c.waitClosed(5000);
      assert.ok(sent <= 6, `the server kept reading after the prefix: ${sent} bytes went out before it closed`);
    } finally {
      c.destroy();
    }
    assert.equal((await watch.failureSince(m)).code, code);
  }
  await watch.drained();
  await legitHandshake(watch, realm, main, 'sspi');
});

test('gss-sample: a session dribbled one byte per segment (handshake and wrapped message) works end to end', T, async () => {
  const m = watch.mark();
  const s = await openGssSampleSession(realm, main.gssSamplePort, { chunkBytes: 1, delayMs: 1 });
  try {
    await s.exchange(Buffer.from('dribbled message'), { chunkBytes: 1, delayMs: 1 });
    await s.finish();
  } finally {
    s.close();
  }
  assert.equal(watch.sessions.length - m.sessions, 1);
  assert.deepEqual(watch.failures.slice(m.failures), []);
  await watch.drained();
});

test('gss-sample: dribbled bad frames fail at the first byte that decides (v1 byte, oversized header)', T, async () => {
  for (const [bytes, code, decidedAt] of [
    [Buffer.concat([Buffer.from([0x00, 0x00, 0x02, 0xbb]), randomBytes(100)]), 'ERR_FRAME_UNSUPPORTED_V1', 1],
    [Buffer.concat([gss(START_CONTEXT), gssHeader(TokenFlag.CONTEXT, MAX_TOKEN + 1), randomBytes(100)]), 'ERR_FRAME_TOO_LARGE', 10],
  ] as const) {
    const m = watch.mark();
    const c = await RawConn.connect(main.gssSamplePort);
    try {
      const sent = await c.dribble(bytes, { chunkBytes: 1, delayMs: 10 });
      await c.waitClosed(5000);
      assert.ok(sent <= decidedAt + 2, `${code}: ${sent} bytes went out before the close, decided at byte ${decidedAt}`);
    } finally {
      c.destroy();
    }
    assert.equal((await watch.failureSince(m)).code, code);
  }
  await watch.drained();
  await legitHandshake(watch, realm, main, 'gss-sample');
});

// ------------------------------------------------------------------ frames that never complete

test('frames that never complete are cut by handshakeTimeoutMs (ERR_HANDSHAKE_TIMEOUT), both framings', T, async () => {
  const cases: Array<{ name: string; port: number; frontend: 'sspi' | 'gss-sample'; bytes: Buffer; drip?: boolean }> = [
    { name: 'sspi: silence', port: short.sspiPort, frontend: 'sspi', bytes: Buffer.alloc(0) },
    { name: 'sspi: half a prefix', port: short.sspiPort, frontend: 'sspi', bytes: sspiPrefix(100).subarray(0, 2) },
    { name: 'sspi: 10 of 100 body bytes', port: short.sspiPort, frontend: 'sspi', bytes: Buffer.concat([sspiPrefix(100), randomBytes(10)]) },
    // A slow drip keeps the idle timer from firing: only the absolute deadline stops it.
    { name: 'sspi: a 60000-byte frame, one byte every 20 ms', port: short.sspiPort, frontend: 'sspi', bytes: Buffer.concat([sspiPrefix(60_000), randomBytes(200)]), drip: true },
    { name: 'gss-sample: silence', port: short.gssSamplePort, frontend: 'gss-sample', bytes: Buffer.alloc(0) },
    { name: 'gss-sample: NOOP then 3 header bytes', port: short.gssSamplePort, frontend: 'gss-sample', bytes: Buffer.concat([gss(START_CONTEXT), gssHeader(TokenFlag.CONTEXT, 500).subarray(0, 3)]) },
    { name: 'gss-sample: NOOP then a partial context token', port: short.gssSamplePort, frontend: 'gss-sample', bytes: Buffer.concat([gss(START_CONTEXT), gssHeader(TokenFlag.CONTEXT, 500), randomBytes(10)]) },
  ];
  await shortWatch.drained();
  const before = shortWatch.stats();
  for (const k of cases) {
    const m = shortWatch.mark();
    const c = await RawConn.connect(k.port);
    const connected = Date.now();
    try {
      if (k.drip) void c.dribble(k.bytes, { chunkBytes: 1, delayMs: 20 });
      else if (k.bytes.length > 0) await c.write(k.bytes);
      const closedAt = await c.waitClosed(5000);
      const elapsed = closedAt - connected;
      assert.ok(elapsed >= DEADLINE_MS - 50 && elapsed < DEADLINE_MS + 1500, `${k.name}: closed after ${elapsed} ms, deadline ${DEADLINE_MS}`);
      assert.equal(c.buffered.length, 0, `${k.name}: no reply`);
    } finally {
      c.destroy();
    }
    const f = await shortWatch.failureSince(m);
    assert.equal(f.code, 'ERR_HANDSHAKE_TIMEOUT', `${k.name}: ${f.message}`);
    assert.equal(f.frontend, k.frontend);
  }
  const after = await shortWatch.drained();
  assert.equal(after.created - before.created, 0, 'no incomplete frame reached GSSAPI');
  // The same short-deadline server still completes real handshakes in time, on both framings.
  const m = shortWatch.mark();
  await sspiKrb5Handshake(realm, short.sspiPort);
  const s = await openGssSampleSession(realm, short.gssSamplePort);
  try {
    await s.exchange(Buffer.from('after the timeouts'));
    await s.finish();
  } finally {
    s.close();
  }
  assert.equal(shortWatch.sessions.length - m.sessions, 2);
  assert.deepEqual(shortWatch.failures.slice(m.failures), []);
  await shortWatch.drained();
});

// ---------------------------------------------------------------- bytes after the handshake

test('sspi: bytes after the last token — a partial frame is ignored, a bad frame in the same write fails the handshake', T, async () => {
  // The start of another frame after the AP-REQ, in the same write: the handshake completes and
  // the greeting arrives intact; the dangling bytes are never read.
  let m = watch.mark();
  await sspiKrb5Handshake(realm, main.sspiPort, { trailing: Buffer.concat([sspiPrefix(1000), randomBytes(5)]) });
  assert.equal(watch.sessions.length - m.sessions, 1);
  assert.deepEqual(watch.failures.slice(m.failures), []);
  await watch.drained();

  // An empty frame after the AP-REQ in the same segment: the whole chunk is refused before the
  // AP-REQ reaches GSSAPI (a decoder that failed drops what it decoded from that chunk).
  const [apReq] = await firstKrb5Tokens(1);
  await expectRefused(watch, main.sspiPort, 'sspi', Buffer.concat([encodeSspiFrame(apReq as Buffer), sspiPrefix(0)]), 'ERR_FRAME_EMPTY');

  // Junk after the server's last reply: the handshake already succeeded, nothing more happens.
  m = watch.mark();
  const [token] = await firstKrb5Tokens(1);
  const c = await RawConn.connect(main.sspiPort);
  try {
    await c.write(encodeSspiFrame(token as Buffer));
    const apRep = await c.readSspiFrame();
    assert.equal(apRep[0], 0x60, 'an AP-REP');
    await c.write(Buffer.concat([sspiPrefix(0), randomBytes(100)]));
    await c.waitClosed(5000);
  } finally {
    c.destroy();
  }
  assert.equal(watch.sessions.length - m.sessions, 1);
  assert.deepEqual(watch.failures.slice(m.failures), [], 'a completed handshake is not reported as failed');
  await watch.drained();
  await legitHandshake(watch, realm, main, 'sspi');
});

test('sspi: more frames than lock-step allows, in one write: ERR_PROTOCOL before any reaches GSSAPI', T, async () => {
  // A real AP-REQ first: it must not be spent (no context, no replay-cache entry) by a peer
  // that breaks lock-step in the same chunk.
  const [token] = await firstKrb5Tokens(1);
  const flood = Buffer.concat([encodeSspiFrame(token as Buffer), ...Array.from({ length: 10 }, () => encodeSspiFrame(garbageToken(16)))]);
  const f = await expectRefused(watch, main.sspiPort, 'sspi', flood, 'ERR_PROTOCOL');
  assert.match(f.message, /more than 4 frames without waiting for replies/);
  // The AP-REQ was never consumed: on its own, it still authenticates.
  const m = watch.mark();
  const r = await sendAndCollect(main.sspiPort, encodeSspiFrame(token as Buffer));
  assert.ok(r.bytes.length > 4, 'AP-REP and greeting');
  await waitUntil(() => watch.sessions.length > m.sessions, 'the unspent AP-REQ to authenticate');
  assert.deepEqual(watch.failures.slice(m.failures), []);
  await watch.drained();
  await legitHandshake(watch, realm, main, 'sspi');
});

test('gss-sample: bytes after the handshake — a v1 byte or a bad flag byte ends the session, not as a handshake failure', T, async () => {
  for (const [junk, code] of [
    [Buffer.from([0x00, 0x00, 0x00, 0x05]), 'ERR_FRAME_UNSUPPORTED_V1'],
    [gss(TokenFlag.DATA | TokenFlag.MIC, Buffer.from('a MIC bit on data')), 'ERR_FRAME_UNEXPECTED'],
    [gss(TokenFlag.CONTEXT, Buffer.from('another context token')), 'ERR_FRAME_UNEXPECTED'],
  ] as const) {
    const m = watch.mark();
    const s = await openGssSampleSession(realm, main.gssSamplePort);
    try {
      await s.exchange(Buffer.from('before the junk'));
      assert.equal(watch.stats().established, 1, 'the session holds its context');
      await s.conn.write(junk);
      const rest = await s.conn.readToEnd(5000);
      assert.equal(rest.bytes.length, 0, 'nothing is sent back');
    } finally {
      s.close();
    }
    const fields = await watch.postHandshakeErrorSince(m);
    assert.equal(fields['code'], code, String(fields['message']));
    assert.equal(watch.sessions.length - m.sessions, 1);
    assert.deepEqual(watch.failures.slice(m.failures), [], 'the handshake itself succeeded');
    await watch.drained();
  }
  // After the closing NOOP the server has ended the connection: trailing bytes change nothing.
  const m = watch.mark();
  const s = await openGssSampleSession(realm, main.gssSamplePort);
  try {
    await s.conn.write(Buffer.concat([gss(NOOP), randomBytes(64)]));
    await s.conn.waitClosed(5000);
  } finally {
    s.close();
  }
  assert.deepEqual(watch.failures.slice(m.failures), []);
  await watch.drained();
  await legitHandshake(watch, realm, main, 'gss-sample');
});

// ------------------------------------------------------------------------- gss-sample v1 format

test('gss-sample v1 (flagless): refused at its first byte (ERR_FRAME_UNSUPPORTED_V1), raw and from gss-client -v1', T, async () => {
  // The first byte alone decides: the server does not wait for the rest of a v1 length.
  const c = await RawConn.connect(main.gssSamplePort);
  const m = watch.mark();
  try {
    await c.write(Buffer.from([0x00]));
    await c.waitClosed(2000);
  } finally {
    c.destroy();
  }
  assert.equal((await watch.failureSince(m)).code, 'ERR_FRAME_UNSUPPORTED_V1');

  // MIT's own client in v1 mode: it sends a flagless AP-REQ and gets the connection closed.
  const gssClient = requireTool('gss-client', 'krb5-gss-samples');
  const m2 = watch.mark();
  const r = await runClient(gssClient, ['-port', String(main.gssSamplePort), '-v1', 'localhost', 'host@localhost', 'v1 hello'], realm, 15_000, { LC_ALL: 'C' });
  assert.notEqual(r.code, 0, 'gss-client -v1 must fail');
  assert.doesNotMatch(r.stdout, /Signature verified/);
  const f = await watch.failureSince(m2);
  assert.equal(f.code, 'ERR_FRAME_UNSUPPORTED_V1', f.message);
  assert.equal(watch.sessions.length, m2.sessions);
  await watch.drained();
  await legitHandshake(watch, realm, main, 'gss-sample');
});

// ------------------------------------------------------------------------- unknown flag bytes

test('gss-sample: flag bytes out of place are ERR_FRAME_UNEXPECTED; 0xFF reads as NOOP|CONTEXT_NEXT like MIT gss-server', T, async () => {
  const body = Buffer.from('abc');
  // A first frame without NOOP: CONTEXT alone, a bare ENCRYPTED bit, MIC.
  for (const flags of [TokenFlag.CONTEXT, TokenFlag.ENCRYPTED, TokenFlag.MIC, 0x06]) {
    const f = await expectRefused(watch, main.gssSamplePort, 'gss-sample', gss(flags, body), 'ERR_FRAME_UNEXPECTED');
    assert.match(f.message, /expected a NOOP token to start/);
  }
  // Where a context token is due: MIC, WRAPPED, a bare NOOP-less SEND_MIC.
  for (const flags of [TokenFlag.MIC, TokenFlag.WRAPPED, TokenFlag.SEND_MIC]) {
    const f = await expectRefused(watch, main.gssSamplePort, 'gss-sample', Buffer.concat([gss(START_CONTEXT), gss(flags, body)]), 'ERR_FRAME_UNEXPECTED');
    assert.match(f.message, /expected a context token/);
  }
  // Every bit set on the opening frame includes NOOP and CONTEXT_NEXT: the context token that
  // follows goes to GSSAPI, which refuses this one.
  await expectRefused(watch, main.gssSamplePort, 'gss-sample', Buffer.concat([gss(0xff), gss(0xff, garbageToken())]), 'ERR_GSS_DEFECTIVE_TOKEN', { contexts: 1 });
  await legitHandshake(watch, realm, main, 'gss-sample');
});

// ----------------------------------------------------------- data before a context exists

test('gss-sample: DATA, WRAPPED, ENCRYPTED or SEND_MIC before a context exists is refused', T, async () => {
  const body = Buffer.from('too early');
  const data = TokenFlag.DATA;
  // Announced a handshake, sent an application message instead.
  for (const flags of [data, data | TokenFlag.WRAPPED | TokenFlag.ENCRYPTED | TokenFlag.SEND_MIC]) {
    const f = await expectRefused(watch, main.gssSamplePort, 'gss-sample', Buffer.concat([gss(START_CONTEXT), gss(flags, body)]), 'ERR_FRAME_UNEXPECTED');
    assert.match(f.message, /expected a context token/);
  }
  // Opened without authentication (-na), then asked for services only a context provides.
  for (const flags of [data | TokenFlag.WRAPPED, data | TokenFlag.ENCRYPTED, data | TokenFlag.SEND_MIC, data | TokenFlag.WRAPPED | TokenFlag.ENCRYPTED | TokenFlag.SEND_MIC]) {
    await watch.drained();
    const before = watch.stats();
    const m = watch.mark();
    const r = await sendAndCollect(main.gssSamplePort, Buffer.concat([gss(NOOP), gss(flags, body)]));
    assert.equal(r.bytes.length, 0, 'no NOOP, no MIC: nothing is sent back');
    // An unauthenticated session never leaves its handshake phase (its deadline runs): the
    // violation is a failed handshake, and no context was made.
    const f = await watch.failureSince(m);
    assert.equal(f.code, 'ERR_FRAME_UNEXPECTED');
    assert.match(f.message, /unauthenticated client requested authenticated services/);
    assert.equal((await watch.drained()).created, before.created);
  }
  await legitHandshake(watch, realm, main, 'gss-sample');
});
