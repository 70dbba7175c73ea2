/**
 * HttpAcceptor.protect() beyond GET: every method, request bodies (Content-Length and
 * chunked) bounded by maxBodyBytes, read only once the client is authenticated; HEAD, OPTIONS
 * (CORS preflights) and 405. Real clients: curl --negotiate, node:http, raw sockets for the
 * bytes a client library hides (pipelining after HEAD, a client gone mid-body).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';

import { HttpAcceptor, type HttpReply } from '../../src/acceptors/HttpAcceptor.js';
import { AuthPool } from '../../src/pool/AuthPool.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { createLogger } from '../../src/logger.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { FAULT_WORKER, holdEveryWorker } from '../support/faultWorker.js';
import { requirePythonGssapi, runClient, useRealm } from '../support/server.js';
import { firstTokens } from '../support/initiator.js';
import { RawConn } from '../support/rawConn.js';
import { waitUntil } from '../support/waitUntil.js';

const curl = requireTool('curl', 'curl');
const T = { timeout: 60_000 };
const logger = createLogger(process.env['NEGOTIATE_TEST_LOG'] === '1' ? 'debug' : 'silent');
const LIMIT = 64 * 1024; // maxBodyBytes of the /limited route

let realm: ThrowawayRealm | undefined;
let pool: AuthPool | undefined;
let acceptor: HttpAcceptor | undefined;
let port = 0;
const tokens: Buffer[] = [];
/** What the echo routes' handler saw, newest last. */
const seen: Array<{ method: string; principal: string; bytes: number }> = [];

function echo(identity: { principal: string }, res: HttpReply, request: { method: string; body: Buffer }): void {
  seen.push({ method: request.method, principal: identity.principal, bytes: request.body.length });
  res.json({
    method: request.method,
    principal: identity.principal,
    bytes: request.body.length,
    sha256: createHash('sha256').update(request.body).digest('hex'),
  });
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  useRealm(realm);
  // The diagnostics worker: tests stall it to hold a handshake open while a body arrives.
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab }, workers: 1, workerFile: FAULT_WORKER });
  acceptor = new HttpAcceptor({ pool, logger, sessionCookie: { ttlSeconds: 600 } });
  acceptor.protect('/echo', (identity, res, _headers, request) => echo(identity, res, request));
  acceptor.protect('/limited', (identity, res, _headers, request) => echo(identity, res, request), {
    methods: ['post', 'put'],
    maxBodyBytes: LIMIT,
  });
  acceptor.protect('/cors', (identity, res, _headers, request) => echo(identity, res, request), {
    methods: ['get', 'post'],
    preflight: (res, headers) => {
      res.end('', {
        status: 204,
        headers: {
          'Access-Control-Allow-Origin': headers['origin'] ?? '',
          'Access-Control-Allow-Methods': 'GET, POST',
          'Access-Control-Allow-Credentials': 'true',
        },
      });
    },
  });
  port = (await acceptor.listen(0, '127.0.0.1')).port;
  tokens.push(...(await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 16)));
});

after(async () => {
  await acceptor?.close(0);
  await pool?.close();
  await realm?.destroy();
});

function theRealm(): ThrowawayRealm {
  assert.ok(realm, 'realm started in before()');
  return realm;
}

function theAcceptor(): HttpAcceptor {
  assert.ok(acceptor, 'acceptor started in before()');
  return acceptor;
}

function nextToken(): Buffer {
  const t = tokens.shift();
  assert.ok(t, 'ran out of pre-made tokens: raise the count in before()');
  return t;
}

function negotiate(): string {
  return `Negotiate ${nextToken().toString('base64')}`;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection; `chunks`: the body, written one piece at a time (chunked unless `length`). */
function request(
  method: string,
  urlPath: string,
  headers: Record<string, string>,
  chunks: Buffer[] = [],
  opts: { contentLength?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: urlPath,
        agent: false,
        timeout: 10_000,
        headers: {
          Connection: 'close',
          ...(opts.contentLength === false ? {} : { 'Content-Length': total }),
          ...headers,
        },
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
    void (async () => {
      for (const c of chunks) {
        req.write(c);
        await new Promise((r) => setTimeout(r, 5));
      }
      req.end();
    })();
  });
}

/** `METHOD /path` with Host and `headers`, as one HTTP/1.1 header block. */
function requestHead(line: string, headers: Record<string, string>): string {
  const fields = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `${line} HTTP/1.1\r\nHost: localhost\r\n${fields.join('')}\r\n`;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The first complete response head in `buf` (status, lowercased headers, where its body starts), or undefined. */
function responseHead(buf: Buffer): { status: number; headers: Record<string, string>; bodyAt: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, bodyAt: end + 4 };
}

test('curl --negotiate POST, PUT and DELETE with bodies reach the handler whole, with the identity', T, async () => {
  const r = theRealm();
  const body = randomBytes(200 * 1024).toString('base64'); // ~270 KB: more than one read
  const file = `${r.dir}/body.txt`;
  await writeFile(file, body);
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const run = await runClient(
      curl,
      [
        '-sS',
        '--negotiate',
        '-u',
        ':',
        '-X',
        method,
        '--data-binary',
        `@${file}`,
        '--resolve',
        `localhost:${port}:127.0.0.1`,
        `http://localhost:${port}/echo`,
      ],
      r,
      15_000,
    );
    assert.equal(run.code, 0, run.stderr);
    const got = JSON.parse(run.stdout) as { method: string; principal: string; bytes: number; sha256: string };
    assert.equal(got.method, method.toLowerCase());
    assert.equal(got.principal, r.userPrincipal);
    assert.equal(got.bytes, body.length);
    assert.equal(got.sha256, sha256(Buffer.from(body)));
  }
});

test('a raw client: POST with Content-Length, and a chunked body in several pieces', T, async () => {
  const whole = randomBytes(100_000);
  const withLength = await request('POST', '/echo', { Authorization: negotiate() }, [whole]);
  assert.equal(withLength.status, 200, withLength.body);
  assert.equal((JSON.parse(withLength.body) as { sha256: string }).sha256, sha256(whole));

  const pieces = [randomBytes(10), randomBytes(70_000), randomBytes(1), randomBytes(5000)];
  const chunked = await request('PATCH', '/echo', { Authorization: negotiate() }, pieces, { contentLength: false });
  assert.equal(chunked.status, 200, chunked.body);
  const got = JSON.parse(chunked.body) as { method: string; bytes: number; sha256: string };
  assert.equal(got.method, 'patch');
  assert.equal(got.bytes, 75_011);
  assert.equal(got.sha256, sha256(Buffer.concat(pieces)));
  // A GET without a body gets an empty one.
  const plain = await request('GET', '/echo', { Authorization: negotiate() });
  assert.equal((JSON.parse(plain.body) as { bytes: number }).bytes, 0);
});

test('a body over maxBodyBytes: 413 and the connection closed, by Content-Length or while chunked', T, async () => {
  const before = seen.length;
  // Announced by Content-Length: refused before anything is read (the client may not have sent it yet).
  const early = await RawConn.connect(port);
  try {
    await early.write(
      Buffer.from(requestHead('POST /limited', { Authorization: negotiate(), 'Content-Length': String(LIMIT + 1) })),
    );
    await early.waitClosed();
    const head = responseHead(early.buffered);
    assert.equal(head?.status, 413, early.buffered.toString('latin1'));
    assert.match(early.buffered.toString('latin1'), /larger than 65536 bytes/);
  } finally {
    early.destroy();
  }
  // With the body on its way: curl reads the answer while it sends. (A client that only writes,
  // as Node's http client does, may get a reset instead: the connection closes with its bytes
  // unread; docs/http.md.)
  const file = `${theRealm().dir}/over-limit.bin`;
  await writeFile(file, randomBytes(LIMIT + 1));
  const run = await runClient(
    curl,
    ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--data-binary', `@${file}`, `http://127.0.0.1:${port}/limited`],
    theRealm(),
  );
  assert.equal(run.stdout, '413', run.stderr);

  // Chunked: the length is known only while reading; the client is authenticated (cookie).
  const ok = await request('POST', '/limited', { Authorization: negotiate() }, [randomBytes(LIMIT)]);
  assert.equal(ok.status, 200, 'exactly the limit is accepted');
  const cookie = (ok.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
  const conn = await RawConn.connect(port);
  try {
    await conn.write(
      Buffer.from(
        `PUT /limited HTTP/1.1\r\nHost: localhost\r\nCookie: ${cookie}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      ),
    );
    const piece = randomBytes(16 * 1024);
    for (let i = 0; i < 8 && !conn.closed; i++) {
      await conn.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
    }
    await conn.waitClosed();
    const head = responseHead(conn.buffered);
    assert.equal(head?.status, 413, conn.buffered.toString('latin1'));
  } finally {
    conn.destroy();
  }
  assert.equal(seen.length, before + 1, 'the handler ran only for the body within the limit');
  assert.equal(theAcceptor().bodyBytesBuffered, 0);
});

test('a client without credentials sending a large body is challenged, its body never held', T, async () => {
  const a = theAcceptor();
  const receivedBefore = a.bodyBytesReceivedBeforeAuth;
  const big = randomBytes(1024 * 1024); // the route's limit: refused only for want of credentials
  const r = await request('POST', '/echo', {}, [big]);
  assert.equal(r.status, 401);
  assert.equal(r.headers['www-authenticate'], 'Negotiate');
  assert.equal(a.bodyBytesReceivedBeforeAuth, receivedBefore, 'no body byte copied for an unauthenticated client');
  assert.equal(a.bodyBytesBuffered, 0);
  // uWS discards the body it did not hand us; the connection stays in step (keep-alive).
  const conn = await RawConn.connect(port);
  try {
    await conn.write(Buffer.from(`POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${big.length}\r\n\r\n`));
    await conn.write(big);
    await conn.write(Buffer.from('GET /whoami HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    await waitUntil(() => (conn.buffered.toString('latin1').match(/HTTP\/1\.1 401/g) ?? []).length === 2, 'two 401s');
  } finally {
    conn.destroy();
  }
  assert.equal(a.bodyBytesReceivedBeforeAuth, receivedBefore);
});

test('while the handshake runs, reading the body pauses; it resumes once the client is proven', T, async () => {
  const a = theAcceptor();
  assert.ok(pool);
  const held = await holdEveryWorker(pool, 1);
  const receivedBefore = a.bodyBytesReceivedBeforeAuth;
  const big = randomBytes(900 * 1024); // within the default 1 MiB
  const conn = await RawConn.connect(port);
  try {
    const head = requestHead('POST /echo', { Authorization: negotiate(), 'Content-Length': String(big.length) });
    void conn.write(Buffer.concat([Buffer.from(head), big]));
    await waitUntil(() => pool?.stats().queued === 1, 'the token to wait for the stalled worker');
    await new Promise((r) => setTimeout(r, 300)); // time for the whole body to arrive, if it were read
    const early = a.bodyBytesReceivedBeforeAuth - receivedBefore;
    // Only what uWS read together with the header block (at most its 512 KiB receive buffer).
    assert.ok(early <= 512 * 1024, `${early} body bytes read before authentication`);
    assert.ok(early < big.length, 'the rest waits in the socket');
    await held.release();
    await waitUntil(() => responseHead(conn.buffered) !== undefined, 'the response');
    const res = responseHead(conn.buffered);
    assert.equal(res?.status, 200, conn.buffered.toString('latin1'));
    const json = JSON.parse(conn.buffered.subarray(res?.bodyAt).toString()) as { sha256: string };
    assert.equal(json.sha256, sha256(big));
  } finally {
    await held.release();
    conn.destroy();
  }
  await waitUntil(() => a.bodyBytesBuffered === 0 && a.inFlight === 0, 'body bytes released');
});

test('a refused token with a body pending: 401 and the connection closed, the rest never read', T, async () => {
  const a = theAcceptor();
  const receivedBefore = a.bodyBytesReceivedBeforeAuth;
  const big = randomBytes(900 * 1024);
  const conn = await RawConn.connect(port);
  try {
    const bogus = Buffer.from('YIIBogus'.repeat(8)).toString('base64');
    void conn.write(
      Buffer.from(
        requestHead('POST /echo', { Authorization: `Negotiate ${bogus}`, 'Content-Length': String(big.length) }),
      ),
    );
    await conn.dribble(big, { chunkBytes: 64 * 1024, delayMs: 20 });
    await conn.waitClosed();
    assert.equal(responseHead(conn.buffered)?.status, 401, conn.buffered.toString('latin1'));
  } finally {
    conn.destroy();
  }
  assert.ok(a.bodyBytesReceivedBeforeAuth - receivedBefore < big.length, 'the body was not read to its end');
  await waitUntil(() => a.bodyBytesBuffered === 0, 'body bytes released');
});

test('past maxBodyBytesBeforeAuth (all handshakes together) a request gets 503 and is closed', T, async () => {
  assert.ok(pool);
  const tight = new HttpAcceptor({ pool, logger, maxBodyBytesBeforeAuth: 1024 });
  tight.protect('/echo', (identity, res, _h, request) => echo(identity, res, request));
  const p = (await tight.listen(0, '127.0.0.1')).port;
  const conn = await RawConn.connect(p);
  try {
    // Header block and 8 KB of body in one write: uWS reads them together, before the handshake ends.
    await conn.write(
      Buffer.concat([
        Buffer.from(
          `POST /echo HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${negotiate()}\r\nContent-Length: 8192\r\n\r\n`,
        ),
        randomBytes(8192),
      ]),
    );
    await conn.waitClosed();
    const res = responseHead(conn.buffered);
    assert.equal(res?.status, 503, conn.buffered.toString('latin1'));
    assert.equal(res?.headers['retry-after'], '1');
    await waitUntil(() => tight.inFlight === 0, 'the handshake to finish');
    assert.equal(tight.bodyBytesBuffered, 0);
  } finally {
    conn.destroy();
    await tight.close(0);
  }
});

test('HEAD /whoami: the headers GET would send, no body; the connection stays in step', T, async () => {
  const conn = await RawConn.connect(port);
  try {
    // uWS closes a connection on which a request arrives while a response is pending: the
    // authenticated HEAD (its handshake is asynchronous) is answered before the next is sent.
    await conn.write(Buffer.from(`HEAD /whoami HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${negotiate()}\r\n\r\n`));
    await waitUntil(() => responseHead(conn.buffered) !== undefined, 'the HEAD response');
    await conn.write(
      Buffer.from(`HEAD /whoami HTTP/1.1\r\nHost: localhost\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n`),
    );
    await waitUntil(
      () => (conn.buffered.toString('latin1').match(/HTTP\/1\.1 /g) ?? []).length === 3,
      'three responses',
    );
    await new Promise((r) => setTimeout(r, 50)); // anything more would be a body sent to HEAD
    const text = conn.buffered.toString('latin1');
    const first = responseHead(conn.buffered);
    assert.equal(first?.status, 200, text);
    assert.equal(first?.headers['content-type'], 'application/json');
    assert.match(first?.headers['www-authenticate'] ?? '', /^Negotiate ./, 'the mutual-auth token, as on GET');
    const length = Number(first?.headers['content-length']);
    assert.ok(length > 20, 'Content-Length of the JSON a GET would get');
    const rest = conn.buffered.subarray(first?.bodyAt);
    assert.ok(rest.toString('latin1').startsWith('HTTP/1.1 401'), `no body after the HEAD 200: ${text}`);
    const second = responseHead(rest);
    assert.equal(second?.headers['www-authenticate'], 'Negotiate');
    assert.ok(
      rest.subarray(second?.bodyAt).toString('latin1').startsWith('HTTP/1.1 404'),
      `no body after the 401: ${text}`,
    );
  } finally {
    conn.destroy();
  }
});

test(
  'methods: /whoami answers GET and HEAD only (405 with Allow); a pattern protected twice is refused',
  T,
  async () => {
    const r = await request('POST', '/whoami', { Authorization: negotiate() }, [Buffer.from('x')]);
    assert.equal(r.status, 405);
    assert.equal(r.headers['allow'], 'GET, HEAD');
    const limited = await request('GET', '/limited', {});
    assert.equal(limited.status, 405);
    assert.equal(limited.headers['allow'], 'POST, PUT');
    assert.throws(() => theAcceptor().protect('/limited', () => {}, { methods: ['put'] }), { code: 'ERR_CONFIG' });
    assert.throws(() => theAcceptor().protect('/echo', () => {}), { code: 'ERR_CONFIG' });
    assert.throws(() => theAcceptor().protect('/x', () => {}, { maxBodyBytes: 0 }), { code: 'ERR_CONFIG' });
  },
);

test(
  'OPTIONS: a CORS preflight passes unauthenticated only where the route opts in; others are challenged',
  T,
  async () => {
    const preflight = { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' };
    const allowed = await request('OPTIONS', '/cors', preflight);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(allowed.headers['www-authenticate'], undefined);

    const before = seen.length;
    const notOptedIn = await request('OPTIONS', '/echo', preflight);
    assert.equal(notOptedIn.status, 401);
    assert.equal(notOptedIn.headers['www-authenticate'], 'Negotiate');
    // An OPTIONS that is not a preflight is authenticated like any request, also where preflights pass.
    const plainOptions = await request('OPTIONS', '/cors', {});
    assert.equal(plainOptions.status, 401);
    const authed = await request('OPTIONS', '/cors', { Authorization: negotiate() });
    assert.equal(authed.status, 200, authed.body);
    assert.equal((JSON.parse(authed.body) as { method: string }).method, 'options');
    assert.equal(seen.length, before + 1);
  },
);

test('a client gone mid-body: no handler call, no crash, nothing left held', T, async () => {
  const a = theAcceptor();
  const before = seen.length;
  const ok = await request('GET', '/echo', { Authorization: negotiate() });
  const cookie = (ok.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
  for (const framing of ['Content-Length: 500000', 'Transfer-Encoding: chunked']) {
    const conn = await RawConn.connect(port);
    await conn.write(Buffer.from(`POST /echo HTTP/1.1\r\nHost: localhost\r\nCookie: ${cookie}\r\n${framing}\r\n\r\n`));
    const part = randomBytes(100_000);
    await conn.write(framing.startsWith('Transfer') ? Buffer.concat([Buffer.from('186a0\r\n'), part]) : part);
    await waitUntil(() => a.bodyBytesBuffered > 0, 'part of the body held');
    conn.destroy();
    await waitUntil(
      () => a.bodyBytesBuffered === 0 && a.inFlight === 0,
      () => `released (held ${a.bodyBytesBuffered})`,
    );
  }
  assert.equal(seen.length, before + 1, 'only the GET reached the handler');
  const still = await request('POST', '/echo', { Cookie: cookie }, [Buffer.from('after')]);
  assert.equal(still.status, 200);
});
