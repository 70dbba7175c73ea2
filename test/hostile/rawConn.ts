/**
 * A raw TCP client for hostile-input tests: writes exactly the bytes it is given (whole, or one
 * small write at a time with pauses so each becomes its own TCP segment), reads frames of
 * either TCP framing, and reports how and when the server closed the connection.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';

/** How the server ended the connection, as the client saw it. */
export type ConnEnd = 'eof' | 'reset';

/** One gss-sample frame as read off the wire. */
export interface RawGssSampleFrame {
  flags: number;
  body: Buffer;
}

/** Refuse absurd announced lengths while reading replies: the server never sends them. */
const MAX_REPLY_FRAME = 1 << 20;

export class RawConn {
  readonly socket: net.Socket;
  #buf: Buffer = Buffer.alloc(0);
  #ended: ConnEnd | undefined;
  #closed = false;
  #closedAt = 0;
  #wake: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.#buf = this.#buf.length === 0 ? c : Buffer.concat([this.#buf, c]);
      this.#notify();
    });
    socket.on('end', () => {
      this.#ended ??= 'eof';
      this.#notify();
    });
    // ECONNRESET, EPIPE after the server closed: part of what the tests observe, not a failure.
    socket.on('error', () => {
      this.#ended ??= 'reset';
      this.#notify();
    });
    socket.on('close', () => {
      this.#ended ??= 'eof';
      this.#closed = true;
      this.#closedAt = Date.now();
      this.#notify();
    });
  }

  /** Connects to 127.0.0.1:`port` with Nagle off, so every write leaves as its own segment. */
  static connect(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => {
        s.off('error', reject);
        resolve(new RawConn(s));
      });
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** When the connection closed (ms since the epoch), 0 while open. */
  get closedAt(): number {
    return this.#closedAt;
  }

  get ended(): ConnEnd | undefined {
    return this.#ended;
  }

  /** Bytes received and not yet consumed by a read. */
  get buffered(): Buffer {
    return this.#buf;
  }

  /** Writes `bytes` in one write; resolves once handed to the kernel (or the socket failed). */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) {
        resolve();
        return;
      }
      this.socket.write(bytes, () => resolve());
    });
  }

  /**
   * Writes `bytes` `chunkBytes` at a time, pausing `delayMs` after each write. Stops early when
   * the server closes the connection. Returns how many bytes were written.
   */
  async dribble(bytes: Uint8Array, opts: { chunkBytes?: number; delayMs?: number } = {}): Promise<number> {
    const step = opts.chunkBytes ?? 1;
    const delayMs = opts.delayMs ?? 1;
    let sent = 0;
    while (sent < bytes.length && !this.#closed && this.#ended === undefined) {
      const end = Math.min(bytes.length, sent + step);
      await this.write(bytes.subarray(sent, end));
      sent = end;
      await new Promise((r) => setTimeout(r, delayMs));
    }
    return sent;
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

  /** Reads one sspi frame `[u32 LE N][N]`; fails if the connection ends first. */
  async readSspiFrame(timeoutMs = 10_000): Promise<Buffer> {
    const size = (): number => (this.#buf.length >= 4 ? 4 + this.#buf.readUInt32LE(0) : Number.MAX_SAFE_INTEGER);
    await this.#waitFor(() => this.#buf.length >= size() || this.#closed, 'an sspi frame', timeoutMs);
    if (this.#buf.length < size()) throw new Error(`connection ended (${this.#ended}) after ${this.#buf.length} bytes, before a whole sspi frame`);
    const n = this.#buf.readUInt32LE(0);
    assert.ok(n <= MAX_REPLY_FRAME, `the server announced a ${n}-byte frame`);
    const body = this.#buf.subarray(4, 4 + n);
    this.#buf = this.#buf.subarray(4 + n);
    return body;
  }

  /** Reads one gss-sample frame `[flags][u32 BE N][N]`; fails if the connection ends first. */
  async readGssSampleFrame(timeoutMs = 10_000): Promise<RawGssSampleFrame> {
    const size = (): number => (this.#buf.length >= 5 ? 5 + this.#buf.readUInt32BE(1) : Number.MAX_SAFE_INTEGER);
    await this.#waitFor(() => this.#buf.length >= size() || this.#closed, 'a gss-sample frame', timeoutMs);
    if (this.#buf.length < size()) throw new Error(`connection ended (${this.#ended}) after ${this.#buf.length} bytes, before a whole gss-sample frame`);
    const n = this.#buf.readUInt32BE(1);
    assert.ok(n <= MAX_REPLY_FRAME, `the server announced a ${n}-byte frame`);
    const frame = { flags: this.#buf[0] ?? 0, body: this.#buf.subarray(5, 5 + n) };
    this.#buf = this.#buf.subarray(5 + n);
    return frame;
  }

  /** Everything left until the server closes; fails if it keeps the connection open. */
  async readToEnd(timeoutMs = 10_000): Promise<{ bytes: Buffer; how: ConnEnd }> {
    await this.#waitFor(() => this.#closed, 'the server to close the connection', timeoutMs);
    const bytes = this.#buf;
    this.#buf = Buffer.alloc(0);
    return { bytes, how: this.#ended ?? 'eof' };
  }

  /** Waits for the server to close the connection; returns when that happened. */
  async waitClosed(timeoutMs: number): Promise<number> {
    await this.#waitFor(() => this.#closed, 'the server to close the connection', timeoutMs);
    return this.#closedAt;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * Connects, writes `bytes` in one write, and collects everything until the server closes.
 * The server must close within `timeoutMs` (every hostile frame ends the connection).
 */
export async function sendAndCollect(port: number, bytes: Uint8Array, timeoutMs = 10_000): Promise<{ bytes: Buffer; how: ConnEnd }> {
  const c = await RawConn.connect(port);
  try {
    await c.write(bytes);
    return await c.readToEnd(timeoutMs);
  } finally {
    c.destroy();
  }
}
