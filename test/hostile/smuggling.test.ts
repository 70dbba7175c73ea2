/**
 * Issue 10, item 9: no request smuggling on the HTTP front end. A header block whose framing two
 * parsers could read differently (duplicate or conflicting Content-Length, a Transfer-Encoding
 * other than exactly `chunked`, both Content-Length and Transfer-Encoding) is answered with a 400
 * and the connection closed, or closed at once; the request hidden behind it on the same
 * connection is never answered, and its token never reaches GSSAPI.
 *
 * This uWebSockets.js build (20.30) takes the first of two Content-Length headers and parses the
 * rest as a second request, and reads `chunked, identity` as chunked: before the fix, each
 * smuggled request below (carrying a fresh, valid Negotiate token) was answered 200 as alice.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { RawConn } from '../support/rawConn.js';
import { legitHandshake, ServerWatch } from './harness.js';

const T = { timeout: 60_000 };

let realm: ThrowawayRealm;
let ts: TestServer;
let watch: ServerWatch;
const tokens: Buffer[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  ts = await startTestServer(realm, { http: { host: '127.0.0.1', port: 0 } });
  watch = new ServerWatch(ts.server);
  tokens.push(...(await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 12)));
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
});

function nextToken(): Buffer {
  const t = tokens.shift();
  assert.ok(t, 'ran out of pre-made tokens: raise the count in before()');
  return t;
}

/** Writes `text` (latin1) on a fresh raw connection; returns every byte back and how it ended. */
async function exchange(text: string, timeoutMs = 10_000): Promise<{ received: string; how: string; elapsedMs: number }> {
  const c = await RawConn.connect(ts.httpPort);
  const started = Date.now();
  try {
    await c.write(Buffer.from(text, 'latin1'));
    const rest = await c.readToEnd(timeoutMs);
    return { received: rest.bytes.toString('latin1'), how: rest.how, elapsedMs: rest.closedAt - started };
  } finally {
    c.destroy();
  }
}

function statuses(received: string): number[] {
  return [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** GET /whoami with a fresh valid token: what a smuggler hides behind the first header block. */
function smuggled(token: Buffer): string {
  return `GET /whoami HTTP/1.1\r\nHost: localhost\r\nAuthorization: Negotiate ${token.toString('base64')}\r\n\r\n`;
}

/** The front request: `method path`, its header lines, then `body`, in one write with the smuggled one. */
function front(method: string, path: string, lines: string[], body: string): string {
  return `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n${body}`;
}

/** Each case: the front request's header lines and body, given the smuggled bytes. */
const kCases: Record<string, (hidden: string) => string> = {
  // The first Content-Length covers only "XXXXX": the rest would be a second request.
  'conflicting Content-Length (POST, unrouted path)': (h) => front('POST', '/upload', ['Content-Length: 5', `Content-Length: ${5 + h.length}`], 'XXXXX') + h,
  'conflicting Content-Length (GET /whoami)': (h) => front('GET', '/whoami', ['Content-Length: 0', `Content-Length: ${h.length}`], '') + h,
  'the same Content-Length twice': (h) => front('GET', '/whoami', ['Content-Length: 0', 'Content-Length: 0'], '') + h,
  'Transfer-Encoding: chunked, identity': (h) => front('POST', '/upload', ['Transfer-Encoding: chunked, identity'], '0\r\n\r\n') + h,
  'Transfer-Encoding chunked, then identity on a second line': (h) => front('POST', '/upload', ['Transfer-Encoding: chunked', 'Transfer-Encoding: identity'], '0\r\n\r\n') + h,
  'Content-Length and Transfer-Encoding': (h) => front('POST', '/whoami', ['Content-Length: 5', 'Transfer-Encoding: chunked'], '0\r\n\r\n') + h,
  'a Content-Length list': (h) => front('POST', '/upload', [`Content-Length: 5, ${5 + h.length}`], 'XXXXX') + h,
  'Transfer-Encoding: identity': (h) => front('POST', '/upload', ['Transfer-Encoding: identity'], '') + h,
};

for (const [name, build] of Object.entries(kCases)) {
  test(`${name}: a 400 or a close, never an answer to the request behind it`, T, async () => {
    const m = watch.mark();
    const token = nextToken();
    const r = await exchange(build(smuggled(token)));
    const seen = statuses(r.received);
    assert.ok(seen.length === 0 || (seen.length === 1 && seen[0] === 400), `only a 400 or nothing, got ${JSON.stringify(r.received.slice(0, 300))}`);
    if (seen.length === 1) assert.match(r.received, /\r\nConnection: close\r\n/i, 'the 400 says the connection closes');
    assert.ok(r.elapsedMs < 5000, `closed after ${r.elapsedMs} ms, not left to uWS's idle timeout`);
    assert.equal(watch.sessions.length, m.sessions, 'the smuggled request authenticated no one');
    assert.deepEqual(watch.failures.slice(m.failures), [], 'nor reached GSSAPI');
    // Its token was never spent: it still authenticates, on a clean request.
    const clean = await exchange(`${smuggled(token).slice(0, -2)}Connection: close\r\n\r\n`);
    assert.deepEqual(statuses(clean.received), [200], clean.received.slice(0, 300));
  });
}

test('a header block with ambiguous framing and nothing behind it gets a 400 and a close', T, async () => {
  const r = await exchange(front('GET', '/whoami', ['Content-Length: 0', 'Content-Length: 7'], ''));
  assert.deepEqual(statuses(r.received), [400]);
  assert.match(r.received, /\r\nConnection: close\r\n/i);
  assert.match(r.received, /duplicate Content-Length/);
});

test('unambiguous framing is served as before: one Content-Length, or Transfer-Encoding: chunked alone', T, async () => {
  const one = await exchange(front('GET', '/whoami', ['Content-Length: 0', 'Connection: close'], ''));
  assert.deepEqual(statuses(one.received), [401], 'the usual challenge');
  const chunked = await exchange(front('POST', '/upload', ['Transfer-Encoding: chunked'], '0\r\n\r\n') + front('GET', '/whoami', ['Connection: close'], ''));
  assert.deepEqual(statuses(chunked.received), [404, 401], 'both pipelined requests answered, in order');
  await legitHandshake(watch, realm, ts, 'http');
});
