/**
 * Hostile input to the HTTP Negotiate front end (uWebSockets.js): huge and malformed
 * Authorization headers, bad base64, other schemes (NTLM, Basic), many headers, malformed
 * requests, and requests pipelined on one connection while a handshake is in flight.
 *
 * Two layers answer. What reaches the acceptor gets a 401/431 with a bare `Negotiate`
 * challenge and a 'handshakeFailed' code. What this uWS build (20.30) refuses to parse never
 * reaches it: such connections are closed without a response, either at once or by uWS's idle
 * timeout (about 10 s; measured 12 s); the tests pin both, and that the server meanwhile
 * serves everyone else.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { Initiator, firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { legitHandshake, ServerWatch } from './harness.js';
import { RawConn } from '../support/rawConn.js';
import { waitUntil } from '../support/waitUntil.js';

/** Small enough that a token over it still fits uWS's 4 KiB header buffer. */
const MAX_TOKEN = 2048;
/** uWS closes a connection it could not parse after its idle timeout: 10 s, checked every 4 s. */
const UWS_IDLE_CLOSE_MS = 20_000;
const T = { timeout: 30_000 };

let realm: ThrowawayRealm;
let ts: TestServer;
let watch: ServerWatch;
/** Fresh SPNEGO tokens for HTTP@localhost; each used once. */
const tokens: Buffer[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  ts = await startTestServer(realm, { ntlm: false, maxTokenBytes: MAX_TOKEN, http: { host: '127.0.0.1', port: 0 } });
  watch = new ServerWatch(ts.server);
  tokens.push(...(await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 30)));
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

interface Reply {
  status: number;
  wwwAuthenticate: string | undefined;
  body: string;
}

/** GET /whoami on a fresh connection with the given Authorization value (none if undefined). */
function get(authorization: string | undefined, extra: Record<string, string> = {}): Promise<Reply> {
  const headers: Record<string, string> = { Connection: 'close', ...extra };
  if (authorization !== undefined) headers['Authorization'] = authorization;
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: ts.httpPort, path: '/whoami', agent: false, timeout: 10_000, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          const www = res.headers['www-authenticate'];
          resolve({ status: res.statusCode ?? 0, wwwAuthenticate: Array.isArray(www) ? www.join(', ') : www, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

/** Raw request text: every header line as given, CRLF line ends. */
function request(lines: string[]): string {
  return `GET /whoami HTTP/1.1\r\nHost: localhost\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
}

/** Writes `text` on a raw connection; returns what came back and when the server closed. */
async function rawExchange(
  text: string | Buffer,
  timeoutMs = 10_000,
): Promise<{ received: string; how: string; elapsedMs: number }> {
  const c = await RawConn.connect(ts.httpPort);
  const started = Date.now();
  try {
    await c.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
    const rest = await c.readToEnd(timeoutMs);
    return { received: rest.bytes.toString('latin1'), how: rest.how, elapsedMs: rest.closedAt - started };
  } finally {
    c.destroy();
  }
}

/** The status codes of every response in a raw byte stream, in order. */
function statuses(received: string): number[] {
  return [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** A refusal by the acceptor: 401 (or `status`), a bare challenge, the code, no echo of `secret`. */
async function expectRefusal(
  authorization: string,
  code: string | undefined,
  opts: { status?: number; secret?: string } = {},
): Promise<Reply> {
  const m = watch.mark();
  const r = await get(authorization);
  assert.equal(r.status, opts.status ?? 401, `${JSON.stringify(authorization.slice(0, 60))}: ${r.body}`);
  assert.equal(r.wwwAuthenticate, 'Negotiate', 'a bare challenge: start over');
  if (code === undefined) {
    assert.equal(watch.failures.length, m.failures, 'no credentials is the normal challenge, not a failure');
  } else {
    const f = await watch.failureSince(m);
    assert.equal(f.code, code, `${JSON.stringify(authorization.slice(0, 60))}: ${f.message}`);
  }
  if (opts.secret !== undefined) assert.ok(!r.body.includes(opts.secret), 'the body never echoes the credentials');
  assert.equal(watch.sessions.length, m.sessions);
  return r;
}

// ---------------------------------------------------------------------------- huge headers

test(
  "huge Authorization: over maxTokenBytes 431 before decoding; at the limit GSSAPI refuses it; 400 KB is uWS's own 431",
  T,
  async () => {
    const over = randomBytes(MAX_TOKEN + 1).toString('base64');
    const r = await expectRefusal(`Negotiate ${over}`, 'ERR_HTTP_HEADER_TOO_LARGE', {
      status: 431,
      secret: over.slice(0, 40),
    });
    assert.match(r.body, /2049 bytes decoded; the limit is 2048 bytes/);
    // Far over: refused on the text length alone, before the base64 is even checked.
    const far = await expectRefusal(`Negotiate ${'!'.repeat(3000)}`, 'ERR_HTTP_HEADER_TOO_LARGE', { status: 431 });
    assert.match(far.body, /limit is 2732 \(2048 bytes decoded\)/);
    // The first byte is one no mechanism claims: a random 0x6e (a bare krb5 AP-REQ tag, which
    // MIT accepts unframed) or 0x60 (a framed GSS token) gets ERR_GSS_FAILURE instead.
    const atLimit = randomBytes(MAX_TOKEN);
    atLimit[0] = 0xa5;
    await expectRefusal(`Negotiate ${atLimit.toString('base64')}`, 'ERR_GSS_DEFECTIVE_TOKEN');
    // Far past the header block limit (derived from maxTokenBytes): uWS answers 431 itself and
    // closes, at once; nothing reaches the acceptor.
    const m = watch.mark();
    const big = await rawExchange(request([`Authorization: Negotiate ${'A'.repeat(400_000)}`]));
    assert.deepEqual(statuses(big.received), [431]);
    assert.ok(big.elapsedMs < 2000, `answered after ${big.elapsedMs} ms`);
    assert.equal(watch.failures.length, m.failures, 'the request never reached the acceptor');
    await watch.drained();
    await legitHandshake(watch, realm, ts, 'http');
  },
);

// ---------------------------------------------------------------- malformed Authorization

test('malformed Authorization values: each a 401 with its code, never echoing the value', T, async () => {
  const cases: Array<[string, string | undefined]> = [
    ['Negotiate', 'ERR_HTTP_BAD_AUTHORIZATION'],
    ['Negotiate    ', 'ERR_HTTP_BAD_AUTHORIZATION'],
    ['   ', undefined], // blank: no credentials at all
    ['Negotiate YWJj ZGVm', 'ERR_HTTP_BAD_AUTHORIZATION'], // whitespace inside
    ['Negotiate YWJjZA', 'ERR_HTTP_BAD_AUTHORIZATION'], // missing padding
    ['Negotiate YWJjZA===', 'ERR_HTTP_BAD_AUTHORIZATION'], // too much padding
    ['Negotiate ====', 'ERR_HTTP_BAD_AUTHORIZATION'], // padding only
    ['Negotiate YW-_ZA==', 'ERR_HTTP_BAD_AUTHORIZATION'], // base64url alphabet
    ['Negotiate YWJjZB==', 'ERR_HTTP_BAD_AUTHORIZATION'], // non-zero padding bits
    ['Negotiate YW=Jj', 'ERR_HTTP_BAD_AUTHORIZATION'], // '=' before the end
    ['Negotiate \u00ff\u00fe\u00e9', 'ERR_HTTP_BAD_AUTHORIZATION'], // 8-bit bytes
    ['NegotiateYWJjZA==', 'ERR_HTTP_UNSUPPORTED_SCHEME'], // no separator: one unknown scheme
    [`${'X'.repeat(3000)} YWJj`, 'ERR_HTTP_UNSUPPORTED_SCHEME'], // a scheme too long to name
    ['Negotiate AAAA', 'ERR_GSS_DEFECTIVE_TOKEN'], // valid base64, not a token
    // scheme is case-insensitive
    [`negotiate ${Buffer.from('\u00a5 not a gss token', 'latin1').toString('base64')}`, 'ERR_GSS_DEFECTIVE_TOKEN'],
  ];
  for (const [value, code] of cases) {
    // The credential part: everything after the scheme.
    const secret = value.trim().split(/\s+/).slice(1).join(' ');
    await expectRefusal(value, code, secret.length >= 4 ? { secret } : {});
  }
  await watch.drained();
  await legitHandshake(watch, realm, ts, 'http');
});

test('bad base64 in every position of a real token is refused before GSSAPI sees it', T, async () => {
  const b64 = nextToken().toString('base64');
  const before = watch.stats();
  for (let i = 0; i < b64.length; i += Math.ceil(b64.length / 25)) {
    for (const bad of ['!', '-', '_', '.', ' ', '\t', '%']) {
      const value = `Negotiate ${b64.slice(0, i)}${bad}${b64.slice(i + 1)}`;
      if (bad === ' ' && i === 0) continue; // a leading space is separator whitespace, legal
      await expectRefusal(value, 'ERR_HTTP_BAD_AUTHORIZATION');
    }
  }
  assert.equal(watch.stats().created, before.created, 'no security context for a header that is not base64');
  await legitHandshake(watch, realm, ts, 'http');
});

// ---------------------------------------------------------------------------- other schemes

test(
  'NTLM and Basic schemes are refused naming the scheme; NTLMSSP inside Negotiate is ERR_GSS_MECH_DISABLED',
  T,
  async () => {
    const init = Initiator.start(realm, { mech: 'ntlm' });
    let type1: Buffer;
    try {
      type1 = (await init.step()).token;
    } finally {
      init.close();
    }
    assert.equal(type1.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    const ntlm = await expectRefusal(`NTLM ${type1.toString('base64')}`, 'ERR_HTTP_UNSUPPORTED_SCHEME', {
      secret: type1.toString('base64'),
    });
    assert.match(ntlm.body, /scheme "NTLM" is not supported/);
    const basic = await expectRefusal('Basic YWxpY2U6c2VjcmV0', 'ERR_HTTP_UNSUPPORTED_SCHEME', {
      secret: 'YWxpY2U6c2VjcmV0',
    });
    assert.match(basic.body, /"Basic"/);
    await expectRefusal(`Negotiate ${type1.toString('base64')}`, 'ERR_GSS_MECH_DISABLED');
    await watch.drained();
    await legitHandshake(watch, realm, ts, 'http');
  },
);

// ------------------------------------------------------------------------------ many headers

test('many headers: the first Authorization wins; up to 48 header lines are served', T, async () => {
  // Twenty Authorization headers, the first garbage: refused on the first alone.
  const m = watch.mark();
  const garbageFirst = await rawExchange(
    request([
      'Authorization: Negotiate !!!!',
      ...Array.from({ length: 19 }, () => `Authorization: Negotiate ${nextToken().toString('base64')}`),
      'Connection: close',
    ]),
  );
  assert.deepEqual(statuses(garbageFirst.received), [401]);
  assert.ok(!garbageFirst.received.includes('!!!!'), 'the refused value is not echoed');
  assert.equal((await watch.failureSince(m)).code, 'ERR_HTTP_BAD_AUTHORIZATION');
  // A valid first one, garbage after: authenticated.
  const m2 = watch.mark();
  const validFirst = await rawExchange(
    request([
      `Authorization: Negotiate ${nextToken().toString('base64')}`,
      'Authorization: Negotiate !!!!',
      'Connection: close',
    ]),
  );
  assert.deepEqual(statuses(validFirst.received), [200]);
  await waitUntil(() => watch.sessions.length > m2.sessions, 'a session');
  // 48 header lines in all (Host, Authorization, 45 padding, Connection): still answered.
  const padded = await rawExchange(
    request([
      'Authorization: Negotiate AAAA',
      ...Array.from({ length: 45 }, (_, i) => `X-Pad-${i}: ${i}`),
      'Connection: close',
    ]),
  );
  assert.deepEqual(statuses(padded.received), [401]);
  await watch.drained();
  await legitHandshake(watch, realm, ts, 'http');
});

test(
  'unparseable requests: bad header lines idle out unanswered; bad version/request line 505, no Host 400; rest served',
  { timeout: 60_000 },
  async () => {
    const dropped: Record<string, string> = {
      '200 header lines': request([
        'Authorization: Negotiate AAAA',
        ...Array.from({ length: 198 }, (_, i) => `X-Pad-${i}: ${i}`),
      ]),
      'control bytes in Authorization': request(['Authorization: Negotiate \x01\x02\x03', 'Connection: close']),
      'NUL in Authorization': request(['Authorization: Negotiate YW\x00Jj', 'Connection: close']),
      'a header line without a colon': request(['Authorization Negotiate AAAA', 'Connection: close']),
      'a space before the colon': request(['Authorization : Negotiate AAAA', 'Connection: close']),
      'an obs-fold continuation line': request(['Authorization: Negotiate', ' AAAA', 'Connection: close']),
    };
    const m = watch.mark();
    const runs = Object.entries(dropped).map(async ([name, text]) => ({
      name,
      ...(await rawExchange(text, UWS_IDLE_CLOSE_MS)),
    }));
    // While those connections hang, the server answers real clients as usual.
    await new Promise((r) => setTimeout(r, 500));
    await legitHandshake(watch, realm, ts, 'http');
    for (const r of await Promise.all(runs)) {
      assert.equal(r.received, '', `${r.name}: no response at all`);
      assert.ok(r.elapsedMs >= 5000, `${r.name}: closed after ${r.elapsedMs} ms; expected uWS's idle timeout`);
    }
    assert.equal(watch.failures.length, m.failures, 'none of them reached the acceptor');
    // Answered by uWS itself at once, and never passed to the acceptor.
    const refused: Array<[string, string, number]> = [
      ['bare LF line ends', 'GET /whoami HTTP/1.1\nHost: localhost\nAuthorization: Negotiate AAAA\n\n', 505],
      ['a garbage request line', 'HELLO THERE\r\n\r\n', 505],
      ['HTTP/1.0', 'GET /whoami HTTP/1.0\r\nHost: localhost\r\nAuthorization: Negotiate AAAA\r\n\r\n', 505],
      ['no Host header', 'GET /whoami HTTP/1.1\r\nAuthorization: Negotiate AAAA\r\n\r\n', 400],
    ];
    for (const [name, text, status] of refused) {
      const r = await rawExchange(text);
      assert.deepEqual(statuses(r.received), [status], name);
      assert.ok(r.elapsedMs < 2000, `${name}: answered after ${r.elapsedMs} ms`);
    }
    assert.equal(watch.failures.length, m.failures, 'none of them reached the acceptor');
    // 49 header lines are within this build's header count: parsed, and the token refused.
    const many = await rawExchange(
      request([
        'Authorization: Negotiate AAAA',
        ...Array.from({ length: 46 }, (_, i) => `X-Pad-${i}: ${i}`),
        'Connection: close',
      ]),
    );
    assert.deepEqual(statuses(many.received), [401]);
    assert.equal((await watch.failureSince(m)).code, 'ERR_GSS_DEFECTIVE_TOKEN');
    await watch.drained();
    await legitHandshake(watch, realm, ts, 'http');
  },
);

// ------------------------------------------------------------------------------- pipelining

test(
  'pipelining behind a pending handshake closes the connection, frees the context, answers nothing out of order',
  T,
  async () => {
    // A valid handshake, then a second request in the same write while the first is on a worker:
    // uWS refuses a request while a response is pending and closes the connection.
    await watch.drained();
    const before = watch.stats();
    const m = watch.mark();
    const first = nextToken();
    const r = await rawExchange(request([`Authorization: Negotiate ${first.toString('base64')}`]) + request([]));
    assert.equal(r.received, '', 'no response, in particular not the second one before the first');
    // The first leg was already on its way to a worker when uWS closed the connection.
    await waitUntil(() => watch.stats().created > before.created, 'the first handshake to reach a worker');
    const after = await watch.drained();
    assert.equal(after.created - before.created, 1, 'the first handshake ran');
    assert.equal(watch.sessions.length, m.sessions, 'no session for a client that is gone');

    // A bad token then a valid one: the bad one is refused (event, no one to answer), the valid
    // one never reaches GSSAPI and is still fresh afterwards.
    const m2 = watch.mark();
    const unspent = nextToken();
    const r2 = await rawExchange(
      request(['Authorization: Negotiate AAAA']) +
        request([`Authorization: Negotiate ${unspent.toString('base64')}`, 'Connection: close']),
    );
    assert.equal(r2.received, '');
    assert.equal((await watch.failureSince(m2)).code, 'ERR_GSS_DEFECTIVE_TOKEN');
    await watch.drained();
    assert.equal(
      (await get(`Negotiate ${unspent.toString('base64')}`)).status,
      200,
      'the pipelined token was never spent',
    );

    // Answered synchronously, pipelining works: the challenge, then the authenticated request.
    const m3 = watch.mark();
    const r3 = await rawExchange(
      request([]) +
        request(['Authorization: Negotiate !!!!']) +
        request([`Authorization: Negotiate ${nextToken().toString('base64')}`, 'Connection: close']),
    );
    assert.deepEqual(statuses(r3.received), [401, 401, 200], 'in request order');
    assert.match(r3.received, /WWW-Authenticate: Negotiate oY/, 'the final SPNEGO token on the 200');
    assert.equal(watch.sessions.length - m3.sessions, 1);
    await watch.drained();
    await legitHandshake(watch, realm, ts, 'http');
  },
);
