/**
 * Active Directory-sized requests as a real network delivers them ("Active Directory" issue,
 * item 1): a ticket with a PAC grows by 8 bytes per group, so an enterprise user's
 * `Authorization` header reaches 5-25 KB, and it arrives in 1,448-byte segments a few
 * milliseconds apart. The uWS build we used before dropped any header block over 4 KiB that
 * spanned reads, without a response or a log line. Here every size is sent in such segments
 * (a real SPNEGO token, the rest of the block in ordinary headers, since this realm's tickets
 * carry no PAC) over HTTP and over the WebSocket upgrade, the client verifies the server's
 * mutual token, a token of exactly --max-token bytes reaches GSSAPI, beyond the block limit
 * the client gets 431, and a second server on the same port fails to start.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { headerLimitFor } from '../../src/acceptors/uws.js';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { Initiator } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';

const T = { timeout: 60_000 };
const SEGMENT = 1448;
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'negotiate-server.js');
let realm: ThrowawayRealm;
let ts: TestServer;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, {
    http: { host: '127.0.0.1', port: 0 },
    wsPath: '/ws',
    sspi: undefined,
    gssSample: undefined,
  });
});
after(async () => {
  await ts?.server.close();
  await realm?.destroy();
});

/**
 * Writes `text` in 1,448-byte segments 2 ms apart; resolves with what came back when the server closes or `idleMs`
 * passes.
 */
function segmented(text: string, idleMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(text, 'latin1');
    const sock = net.connect(ts.httpPort, '127.0.0.1');
    sock.setNoDelay(true);
    let got = '';
    let timer = setTimeout(() => sock.destroy(), idleMs);
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => sock.destroy(), 300);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    sock.on('error', reject);
    sock.on('connect', () => {
      let at = 0;
      const next = (): void => {
        if (at >= bytes.length || sock.destroyed) return;
        sock.write(bytes.subarray(at, at + SEGMENT));
        at += SEGMENT;
        setTimeout(next, 2);
      };
      next();
    });
  });
}

/** Headers that bring the whole block to about `total` bytes. */
function padding(total: number, used: number): string[] {
  const lines: string[] = [];
  for (let left = total - used, i = 0; left > 64; i++) {
    const n = Math.min(4000, left - 20);
    lines.push(`X-Group-Claims-${i}: ${'g'.repeat(n)}`);
    left -= n + 22;
  }
  return lines;
}

function request(target: string, headers: string[]): string {
  return `GET ${target} HTTP/1.1\r\nHost: localhost\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
}

for (const size of [5_000, 13_000, 25_000]) {
  test(
    `HTTP: ${size.toLocaleString('en')}-byte headers in 1,448-byte segments authenticate, mutual token verified`,
    T,
    async () => {
      const client = Initiator.start(realm, { mech: 'spnego', service: 'HTTP@localhost' });
      try {
        const { token } = await client.step();
        const auth = `Authorization: Negotiate ${token.toString('base64')}`;
        const text = request('/whoami', [auth, ...padding(size, auth.length + 60), 'Connection: close']);
        assert.ok(text.length >= size - 200 && text.length > 4096, `block of ${text.length} bytes`);
        const got = await segmented(text);
        assert.match(got, /^HTTP\/1\.1 200 /, got.slice(0, 200));
        const final = /WWW-Authenticate: Negotiate ([A-Za-z0-9+/=]+)/i.exec(got)?.[1];
        assert.ok(final, 'the mutual token on the 200');
        assert.equal(
          (await client.step(Buffer.from(final, 'base64'))).complete,
          true,
          'the client verified the server',
        );
        assert.match(got, /"principal":"alice@/);
      } finally {
        client.close();
      }
    },
  );
}

test(
  'HTTP: a token of exactly --max-token bytes in segments reaches GSSAPI and is answered; beyond the block limit, 431',
  T,
  async () => {
    const max = DEFAULT_LIMITS.maxTokenBytes; // what startTestServer runs with
    const atMax = randomBytes(max);
    atMax[0] = 0xa5; // a byte no mechanism claims: a clean ERR_GSS_DEFECTIVE_TOKEN
    const got = await segmented(
      request('/whoami', [`Authorization: Negotiate ${atMax.toString('base64')}`, 'Connection: close']),
    );
    assert.match(got, /^HTTP\/1\.1 401 /);
    assert.match(got, /ERR_GSS_DEFECTIVE_TOKEN/);
    const over = await segmented(request('/whoami', [...padding(headerLimitFor(max) + 8_000, 0), 'Connection: close']));
    assert.match(over, /^HTTP\/1\.1 431 /, 'never a silent close');
  },
);

test('WebSocket: an upgrade whose header block is 25 KB, in segments, is accepted', T, async () => {
  const key = randomBytes(16).toString('base64');
  const headers = [
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ];
  const got = await segmented(request('/ws', [...headers, ...padding(25_000, 200)]), 1500);
  assert.match(got, /^HTTP\/1\.1 101 /, got.slice(0, 200));
});

test('a second server on a taken HTTP port fails to start (EADDRINUSE, exit 1) instead of sharing it', T, async () => {
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'serve', '--keytab', realm.keytab, '--http', `127.0.0.1:${ts.httpPort}`],
      { env: { ...process.env, ...realm.env() }, timeout: 30_000 },
      (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
    );
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /EADDRINUSE/);
});
