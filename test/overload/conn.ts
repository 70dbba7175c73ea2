/**
 * Client-side helpers shared by the overload and fault tests: a raw TCP connection that reads
 * whole sspi or gss-sample frames with bounded waits, a one-shot HTTP request, the Kerberos
 * reply check, bounded polling and event collection.
 */
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import http, { type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';

import { GssSampleFrameDecoder, SspiFrameDecoder, decodeSspiGreeting, encodeGssSampleFrame, encodeSspiFrame, TokenFlag, type GssSampleFrame } from '../../src/framing/index.js';

const MAX_FRAME = 65536;

/** A raw TCP client connection of either framing. */
export class RawConn {
  readonly socket: net.Socket;
  /** When the connection was established (ms since the epoch). */
  readonly connectedAt: number;
  #buf: Buffer = Buffer.alloc(0);
  #ended: 'eof' | 'reset' | undefined;
  #closedAt: number | undefined;
  #wake: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.connectedAt = Date.now();
    socket.on('data', (c: Buffer) => {
      this.#buf = this.#buf.length === 0 ? c : Buffer.concat([this.#buf, c]);
      this.#notify();
    });
    socket.on('end', () => {
      this.#ended ??= 'eof';
      this.#notify();
    });
    socket.on('error', () => {
      this.#ended ??= 'reset';
      this.#notify();
    });
    socket.on('close', () => {
      this.#ended ??= 'eof';
      this.#closedAt = Date.now();
      this.#notify();
    });
  }

  static connect(port: number, timeoutMs = 10_000): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', reject);
        resolve(new RawConn(s));
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  get closed(): boolean {
    return this.#closedAt !== undefined;
  }

  /** When the connection closed, or undefined while open. */
  get closedAt(): number | undefined {
    return this.#closedAt;
  }

  get ended(): 'eof' | 'reset' | undefined {
    return this.#ended;
  }

  /** Bytes received and not yet consumed. */
  get buffered(): Buffer {
    return this.#buf;
  }

  write(b: Uint8Array): void {
    this.socket.write(b);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = [];
    for (const f of w) f();
  }

  async #waitFor(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Reads one `[u32 LE N][N]` sspi frame; fails if the connection ends first. */
  async readSspiFrame(timeoutMs = 10_000): Promise<Buffer> {
    const whole = (): boolean => this.#buf.length >= 4 && this.#buf.length >= 4 + this.#buf.readUInt32LE(0);
    await this.#waitFor(() => whole() || this.closed, 'an sspi frame', timeoutMs);
    if (!whole()) throw new Error(`connection ended (${this.#ended}) after ${this.#buf.length} bytes, before a whole frame`);
    const n = this.#buf.readUInt32LE(0);
    const frames = new SspiFrameDecoder(MAX_FRAME).push(this.#buf.subarray(0, 4 + n));
    this.#buf = this.#buf.subarray(4 + n);
    assert.equal(frames.length, 1);
    return frames[0] as Buffer;
  }

  /** Reads one `[flags][u32 BE N][N]` gss-sample frame; fails if the connection ends first. */
  async readGssFrame(timeoutMs = 10_000): Promise<GssSampleFrame> {
    const whole = (): boolean => this.#buf.length >= 5 && this.#buf.length >= 5 + this.#buf.readUInt32BE(1);
    await this.#waitFor(() => whole() || this.closed, 'a gss-sample frame', timeoutMs);
    if (!whole()) throw new Error(`connection ended (${this.#ended}) after ${this.#buf.length} bytes, before a whole frame`);
    const n = this.#buf.readUInt32BE(1);
    const frames = new GssSampleFrameDecoder(MAX_FRAME).push(this.#buf.subarray(0, 5 + n));
    this.#buf = this.#buf.subarray(5 + n);
    assert.equal(frames.length, 1);
    return frames[0] as GssSampleFrame;
  }

  /** Everything left until the peer closes. */
  async readToEnd(timeoutMs = 10_000): Promise<{ bytes: Buffer; how: 'eof' | 'reset' }> {
    await this.#waitFor(() => this.closed, 'the connection to close', timeoutMs);
    const bytes = this.#buf;
    this.#buf = Buffer.alloc(0);
    return { bytes, how: this.#ended ?? 'eof' };
  }

  /** Waits for the server to close the connection; returns when that happened. */
  async waitClosed(timeoutMs: number): Promise<number> {
    await this.#waitFor(() => this.closed, 'the server to close the connection', timeoutMs);
    return this.#closedAt as number;
  }
}

/** The Kerberos GSS token header: 0x60, then the krb5 mech OID 1.2.840.113554.1.2.2. */
const KRB5_OID_DER = Buffer.from('06092a864886f712010202', 'hex');

/** Asserts a raw-krb5 AP-REP (RFC 1964 TOK_ID 02 00), not a KRB-ERROR (03 00). */
export function assertApRep(token: Buffer): void {
  assert.equal(token[0], 0x60, 'a GSS initial-context token');
  const oidAt = token.indexOf(KRB5_OID_DER);
  assert.ok(oidAt > 0 && oidAt < 6, 'carrying the krb5 mech OID');
  assert.deepEqual([...token.subarray(oidAt + KRB5_OID_DER.length, oidAt + KRB5_OID_DER.length + 2)], [0x02, 0x00], 'an AP-REP, not a KRB-ERROR');
}

/** sspi with a raw-krb5 AP-REQ: the AP-REP frame, then the sealed greeting until EOF. */
export async function rawKrb5Sspi(port: number, token: Buffer, timeoutMs = 20_000): Promise<void> {
  const c = await RawConn.connect(port);
  try {
    c.write(encodeSspiFrame(token));
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
    c.write(Buffer.concat([encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT), encodeGssSampleFrame(TokenFlag.CONTEXT, token)]));
    const reply = await c.readGssFrame(timeoutMs);
    assert.equal(reply.flags, TokenFlag.CONTEXT);
    assertApRep(reply.body);
    c.write(encodeGssSampleFrame(TokenFlag.NOOP));
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

/** Bounded poll: resolves once `cond()` holds, else fails naming `what`. */
export async function until(cond: () => boolean, what: () => string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Records every `name` event until stop() is called. */
export function collect<T>(emitter: EventEmitter, name: string): { items: T[]; stop: () => void } {
  const items: T[] = [];
  const on = (v: T): void => {
    items.push(v);
  };
  emitter.on(name, on);
  return { items, stop: () => emitter.off(name, on) };
}
