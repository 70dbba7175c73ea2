/**
 * Client-side helpers shared by the overload tests: whole raw-krb5 exchanges on the TCP
 * framings and a one-shot HTTP request.
 */
import assert from 'node:assert/strict';
import http, { type IncomingHttpHeaders } from 'node:http';

import { decodeSspiGreeting, encodeGssSampleFrame, encodeSspiFrame, TokenFlag } from '../../src/framing/index.js';
import { assertApRep } from '../support/apRep.js';
import { RawConn } from '../support/rawConn.js';

/** sspi with a raw-krb5 AP-REQ: the AP-REP frame, then the sealed greeting until EOF. */
export async function rawKrb5Sspi(port: number, token: Buffer, timeoutMs = 20_000): Promise<void> {
  const c = await RawConn.connect(port);
  try {
    await c.write(encodeSspiFrame(token));
    assertApRep(await c.readSspiFrame(timeoutMs));
    const rest = await c.readToEnd(timeoutMs);
    assert.equal(rest.how, 'eof', 'the server closes cleanly after the greeting');
    const { trailer, ciphertext } = decodeSspiGreeting(rest.bytes);
    assert.ok(trailer.length > 0 && ciphertext.length > 0, 'a sealed greeting');
  } finally {
    c.destroy();
  }
}

/** gss-sample with a raw-krb5 AP-REQ and no message (`gss-client -mcount 0`). */
export async function rawKrb5GssSample(port: number, token: Buffer, timeoutMs = 20_000): Promise<void> {
  const c = await RawConn.connect(port);
  try {
    await c.write(Buffer.concat([encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT), encodeGssSampleFrame(TokenFlag.CONTEXT, token)]));
    const reply = await c.readGssSampleFrame(timeoutMs);
    assert.equal(reply.flags, TokenFlag.CONTEXT);
    assertApRep(reply.body);
    await c.write(encodeGssSampleFrame(TokenFlag.NOOP));
    const rest = await c.readToEnd(timeoutMs);
    assert.equal(rest.bytes.length, 0);
  } finally {
    c.destroy();
  }
}

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One GET on a fresh connection (no keep-alive), bounded. */
export function httpGet(port: number, urlPath: string, headers: Record<string, string> = {}, timeoutMs = 15_000): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers: { Connection: 'close', ...headers }, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no HTTP response within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The Authorization header of a Negotiate request. */
export function negotiateHeader(token: Uint8Array): Record<string, string> {
  return { Authorization: `Negotiate ${Buffer.from(token).toString('base64')}` };
}
