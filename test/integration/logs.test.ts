/**
 * The structured logs (src/logger.ts, docs/operations.md): real handshakes on every front end
 * (sspi, gss-sample, HTTP, WebSocket), successful and failed, logged at debug level into a
 * capture stream. Each handshake's line must carry its connection id, front end, remote
 * address, latency, and the principal (success) or the code and GSS status (failure); and no
 * line may hold any token sent or received, the keytab, or the password, in base64 or hex.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { Writable } from 'node:stream';

import { encodeGssSampleFrame, encodeSspiFrame, TokenFlag } from '../../src/framing/index.js';
import type { HandshakeFailure } from '../../src/handshake/index.js';
import type { HttpHandshakeFailure, HttpIdentity } from '../../src/acceptors/HttpAcceptor.js';
import type { WsHandshakeFailure } from '../../src/acceptors/WsAcceptor.js';
import { createLogger, REDACTED } from '../../src/logger.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { nextEvent } from '../support/events.js';
import { RawConn } from '../support/rawConn.js';
import { wsExchange } from '../support/wsExchange.js';

const T = { timeout: 30_000 };

/** A stream that keeps every line written to it. */
class Capture extends Writable {
  readonly chunks: string[] = [];

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk.toString());
    callback();
  }

  get text(): string {
    return this.chunks.join('');
  }

  lines(): Array<Record<string, unknown>> {
    return this.text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return assert.fail(`a log line is not JSON: ${JSON.stringify(l)}`);
        }
      });
  }
}

type AnyFailure = HandshakeFailure | HttpHandshakeFailure | WsHandshakeFailure;

let realm: ThrowawayRealm;
let ts: TestServer;
const capture = new Capture();
/** Every token this test sent, and every byte a server sent back: none may reach a log. */
const secrets: Buffer[] = [];
/** host@localhost raw-krb5 AP-REQs for the TCP front ends; HTTP@localhost SPNEGO ones for HTTP and WebSocket. */
let krbTokens: Buffer[] = [];
let spnegoTokens: Buffer[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, {
    http: { host: '127.0.0.1', port: 0 },
    wsPath: '/ws',
    logger: createLogger('debug', capture),
  });
  krbTokens = await firstTokens(realm, { mech: 'krb5' }, 3);
  spnegoTokens = await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 2);
  secrets.push(...krbTokens, ...spnegoTokens);
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
});

function take(list: Buffer[]): Buffer {
  const t = list.shift();
  assert.ok(t, 'ran out of pre-made tokens');
  return t;
}

/** A garbage token whose first byte no mechanism claims; remembered as a secret too. */
function garbageToken(): Buffer {
  const t = randomBytes(96);
  t[0] = 0xa5;
  secrets.push(t);
  return t;
}

async function tcpExchange(port: number, frames: Buffer[]): Promise<void> {
  const c = await RawConn.connect(port);
  try {
    for (const f of frames) await c.write(f);
    await c.waitClosed();
  } finally {
    secrets.push(c.buffered);
    c.destroy();
  }
}

function httpGet(port: number, token: Buffer): Promise<{ status: number; authenticate: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path: '/whoami',
        headers: { Connection: 'close', Authorization: `Negotiate ${token.toString('base64')}` },
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const h = res.headers['www-authenticate'];
          resolve({ status: res.statusCode ?? 0, authenticate: Array.isArray(h) ? h.join(',') : h });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

function lineFor(msg: string, connectionId: number): Record<string, unknown> {
  const found = capture.lines().filter((l) => l['msg'] === msg && l['connectionId'] === connectionId);
  assert.equal(found.length, 1, `exactly one "${msg}" line for connection ${connectionId}:\n${capture.text}`);
  return found[0] as Record<string, unknown>;
}

function assertSuccessLine(s: { connectionId: number; frontend: string }): void {
  const l = lineFor('authenticated', s.connectionId);
  assert.equal(l['level'], 'info');
  assert.ok(typeof l['time'] === 'string' && !Number.isNaN(Date.parse(l['time'])), 'ISO time');
  assert.equal(l['frontend'], s.frontend);
  assert.equal(l['remoteAddress'], '127.0.0.1');
  assert.equal(l['principal'], realm.userPrincipal);
  assert.equal(l['mech'], 'krb5');
  assert.ok(typeof l['latencyMs'] === 'number' && l['latencyMs'] >= 0, `latencyMs in ${JSON.stringify(l)}`);
}

function assertFailureLine(f: AnyFailure, code: string, statusText: RegExp): void {
  const l = lineFor('handshake failed', f.connectionId);
  assert.equal(l['level'], 'info');
  assert.equal(l['frontend'], f.frontend);
  assert.equal(l['remoteAddress'], '127.0.0.1');
  assert.equal(l['code'], code);
  assert.match(String(l['message']), statusText, 'GSSAPI status text');
  assert.ok(typeof l['major'] === 'number' && l['major'] > 0, `GSS major status in ${JSON.stringify(l)}`);
  assert.ok(typeof l['minor'] === 'number', 'GSS minor status');
  assert.ok(typeof l['latencyMs'] === 'number' && l['latencyMs'] >= 0, 'latencyMs');
}

/** Every 24-character run of `data`'s base64 (each byte alignment, standard and url alphabets) and hex. */
function windows(data: Buffer): string[] {
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const part = data.subarray(shift);
    for (const b64 of [part.toString('base64'), part.toString('base64url')]) {
      // Aligned on 4-character groups: other offsets encode other byte boundaries, covered by the shifts.
      for (let i = 0; i + 24 <= b64.length - 4; i += 4) out.push(b64.slice(i, i + 24));
    }
  }
  const hex = data.toString('hex');
  for (let i = 0; i + 24 <= hex.length; i += 2) out.push(hex.slice(i, i + 24), hex.slice(i, i + 24).toUpperCase());
  return out;
}

test(
  'every handshake line carries id, front end, address, latency and principal or code with GSS status',
  T,
  async () => {
    // sspi: a raw AP-REQ (success), its replay (ERR_GSS_REPLAY), garbage (ERR_GSS_DEFECTIVE_TOKEN).
    const replayed = take(krbTokens);
    let session = nextEvent<Session>(ts.server, 'session');
    await tcpExchange(ts.sspiPort, [encodeSspiFrame(replayed)]);
    assertSuccessLine(await session);
    let failure = nextEvent<AnyFailure>(ts.server, 'handshakeFailed');
    await tcpExchange(ts.sspiPort, [encodeSspiFrame(replayed)]);
    assertFailureLine(await failure, 'ERR_GSS_REPLAY', /replay/i);
    failure = nextEvent<AnyFailure>(ts.server, 'handshakeFailed');
    await tcpExchange(ts.sspiPort, [encodeSspiFrame(garbageToken())]);
    assertFailureLine(await failure, 'ERR_GSS_DEFECTIVE_TOKEN', /invalid token/i);

    // gss-sample: a session ended by the client's NOOP, then garbage.
    session = nextEvent<Session>(ts.server, 'session');
    await tcpExchange(ts.gssSamplePort, [
      encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT),
      encodeGssSampleFrame(TokenFlag.CONTEXT, take(krbTokens)),
      encodeGssSampleFrame(TokenFlag.NOOP),
    ]);
    assertSuccessLine(await session);
    failure = nextEvent<AnyFailure>(ts.server, 'handshakeFailed');
    await tcpExchange(ts.gssSamplePort, [
      encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT),
      encodeGssSampleFrame(TokenFlag.CONTEXT, garbageToken()),
    ]);
    assertFailureLine(await failure, 'ERR_GSS_DEFECTIVE_TOKEN', /invalid token/i);

    // HTTP: the mutual-authentication token comes back on the 200.
    const httpSession = nextEvent<HttpIdentity>(ts.server, 'session');
    const ok = await httpGet(ts.httpPort, take(spnegoTokens));
    assert.equal(ok.status, 200);
    assert.ok(ok.authenticate?.startsWith('Negotiate '), 'the final token');
    secrets.push(Buffer.from((ok.authenticate ?? '').slice('Negotiate '.length), 'base64'));
    const identity = await httpSession;
    assert.equal(identity.frontend, 'http');
    assert.ok(typeof identity.latencyMs === 'number', 'the HTTP identity carries its latency');
    const okLine = capture.lines().filter((l) => l['msg'] === 'authenticated' && l['frontend'] === 'http');
    assert.equal(okLine.length, 1);
    assert.ok(typeof okLine[0]?.['connectionId'] === 'number');
    assertSuccessLine({ connectionId: okLine[0]?.['connectionId'], frontend: 'http' });
    failure = nextEvent<AnyFailure>(ts.server, 'handshakeFailed');
    assert.equal((await httpGet(ts.httpPort, garbageToken())).status, 401);
    const httpFailure = await failure;
    assert.ok(typeof httpFailure.connectionId === 'number', 'HTTP failures carry an id');
    assertFailureLine(httpFailure, 'ERR_GSS_DEFECTIVE_TOKEN', /invalid token/i);

    // WebSocket.
    session = nextEvent<Session>(ts.server, 'session');
    const ws = await wsExchange(ts.httpPort, take(spnegoTokens));
    assert.ok(ws.text?.includes('"authenticated"'), `authenticated message: ${JSON.stringify(ws)}`);
    secrets.push(...ws.binaries);
    assertSuccessLine(await session);
    failure = nextEvent<AnyFailure>(ts.server, 'handshakeFailed');
    const refused = await wsExchange(ts.httpPort, garbageToken());
    assert.equal(refused.closeCode, 1008);
    secrets.push(...refused.binaries);
    assertFailureLine(await failure, 'ERR_GSS_DEFECTIVE_TOKEN', /invalid token/i);

    // Debug level also logged the TCP accept legs (and they are checked for secrets below).
    assert.ok(
      capture.lines().some((l) => l['msg'] === 'accept leg' && l['level'] === 'debug'),
      'debug lines are written',
    );
  },
);

test('no log line holds a token sent or received, the keytab, or the password', T, async () => {
  assert.ok(secrets.length >= 8, `the previous test recorded the tokens (${secrets.length})`);
  const text = capture.text;
  assert.ok(text.length > 0);
  // Every 24-character substring of the log, to look windows up in.
  const seen = new Set<string>();
  for (let i = 0; i + 24 <= text.length; i++) seen.add(text.slice(i, i + 24));

  const keytab = await readFile(realm.keytab);
  const checks: Array<[string, Buffer]> = [
    ...secrets.filter((s) => s.length >= 24).map((s, i) => [`token ${i}`, s] as [string, Buffer]),
    ['the keytab', keytab],
  ];
  for (const [what, data] of checks) {
    for (const w of windows(data)) assert.ok(!seen.has(w), `${what} appears in the log (window ${w.slice(0, 6)}…)`);
  }
  assert.ok(!text.includes(realm.password), 'the password appears in the log');
});

test('secret-named fields are redacted, levels filter, silent writes nothing', T, () => {
  const sink = new Capture();
  const logger = createLogger('info', sink);
  logger.debug('dropped at info');
  logger.info('careless call', {
    connectionId: 7,
    token: 'TOKEN-VALUE',
    password: 'PASSWORD-VALUE',
    key: 'KEY-VALUE',
    headers: { authorization: 'Negotiate AUTH-VALUE', cookie: 'COOKIE-VALUE', 'set-cookie': 'SET-COOKIE-VALUE' },
  });
  const lines = sink.lines();
  assert.equal(lines.length, 1, sink.text);
  const l = lines[0] as Record<string, unknown>;
  assert.equal(l['msg'], 'careless call');
  assert.equal(l['level'], 'info');
  assert.equal(l['connectionId'], 7);
  assert.equal(l['token'], REDACTED);
  assert.deepEqual(l['headers'], { authorization: REDACTED, cookie: REDACTED, 'set-cookie': REDACTED });
  assert.doesNotMatch(sink.text, /VALUE/);

  const warnOnly = new Capture();
  const w = createLogger('warn', warnOnly);
  w.info('dropped');
  w.warn('kept');
  w.error('kept too');
  assert.deepEqual(
    warnOnly.lines().map((x) => [x['level'], x['msg']]),
    [
      ['warn', 'kept'],
      ['error', 'kept too'],
    ],
  );

  const silent = new Capture();
  const s = createLogger('silent', silent);
  s.error('nothing');
  assert.equal(silent.text, '');
});
