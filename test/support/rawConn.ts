/**
 * The raw TCP client of every test that speaks a framing by hand (hostile input, overload,
 * faults, admin and log checks). Those tests need what a real client hides: the exact bytes
 * and segments they send, every byte the server answers, and how and when the server ended the
 * connection. Every wait is bounded, so a server that stalls fails the test instead of hanging it.
 *
 * Replies are parsed here by hand rather than with src/framing, so that a bug in the decoders
 * under test cannot also hide in the client that checks them.
 */
import assert from 'node:assert/strict';
import net from 'node:net';

/** How the server ended the connection, as the client saw it. */
export type ConnEnd = 'eof' | 'reset';

/** One gss-sample frame as read off the wire. */
export interface RawGssSampleFrame {
  flags: number;
  body: Buffer;
}

/** What was left when the server closed the connection. */
export interface ConnRemainder {
  /** Bytes received and not consumed by an earlier read. */
  bytes: Buffer;
  how: ConnEnd;
  /** When the connection closed (ms since the epoch). */
  closedAt: number;
}

/** Refuse absurd announced lengths in replies: the server never sends them, so one is a bug. */
const MAX_REPLY_FRAME = 1 << 20;

export class RawConn {
  readonly socket: net.Socket;
  /** When the connection was established (ms since the epoch). */
  readonly connectedAt: number;
  #buf: Buffer = Buffer.alloc(0);
  #ended: ConnEnd | undefined;
  #closedAt: number | undefined;
  #wake: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.connectedAt = Date.now();
    socket.on('data', (c: Buffer) => {
      this.#buf = this.#buf.length === 0 ? c : Buffer.concat([this.#buf, c]);
      this.#notify();
    });
    // The first of FIN or error decides `ended`: an EPIPE from writing after the server's FIN
    // must not turn a clean close into a reset.
    socket.on('end', () => {
      this.#ended ??= 'eof';
      this.#notify();
    });
    // ECONNRESET, EPIPE: part of what the tests observe, not a failure of the test.
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

  /**
   * Connects with Nagle off: dribble() needs each write to leave as its own segment, and tests
   * that write a frame in pieces should not wait on delayed ACKs.
   */
  static connect(port: number, opts: { host?: string; timeoutMs?: number } = {}): Promise<RawConn> {
    const { host = '127.0.0.1', timeoutMs = 10_000 } = opts;
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port, noDelay: true });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('error', onError);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        resolve(new RawConn(s));
      });
    });
  }

  get closed(): boolean {
    return this.#closedAt !== undefined;
  }

  /** When the connection closed (ms since the epoch); undefined while open. */
  get closedAt(): number | undefined {
    return this.#closedAt;
  }

  get ended(): ConnEnd | undefined {
    return this.#ended;
  }

  /** Bytes received and not yet consumed by a read. */
  get buffered(): Buffer {
    return this.#buf;
  }

  /**
   * Writes `bytes` in one write; resolves once handed to the kernel. Never rejects: a write the
   * server refused shows up as `ended`, which is what the tests check.
   */
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
   * the server ends the connection. Returns how many bytes were written.
   */
  async dribble(bytes: Uint8Array, opts: { chunkBytes?: number; delayMs?: number } = {}): Promise<number> {
    const step = opts.chunkBytes ?? 1;
    const delayMs = opts.delayMs ?? 1;
    let sent = 0;
    while (sent < bytes.length && !this.closed && this.#ended === undefined) {
      const end = Math.min(bytes.length, sent + step);
      await this.write(bytes.subarray(sent, end));
      sent = end;
      await new Promise((r) => setTimeout(r, delayMs));
    }
    return sent;
  }

  /** Reads one sspi frame `[u32 LE N][N]`; fails if the connection ends first. */
  async readSspiFrame(timeoutMs = 10_000): Promise<Buffer> {
    const frame = await this.#readFrame(4, (b) => b.readUInt32LE(0), 'an sspi frame', timeoutMs);
    return frame.subarray(4);
  }

  /** Reads one gss-sample frame `[flags][u32 BE N][N]`; fails if the connection ends first. */
  async readGssSampleFrame(timeoutMs = 10_000): Promise<RawGssSampleFrame> {
    const frame = await this.#readFrame(5, (b) => b.readUInt32BE(1), 'a gss-sample frame', timeoutMs);
    return { flags: frame[0] ?? 0, body: frame.subarray(5) };
  }

  /** Everything left until the server closes; fails if it keeps the connection open. */
  async readToEnd(timeoutMs = 10_000): Promise<ConnRemainder> {
    const closedAt = await this.waitClosed(timeoutMs);
    const bytes = this.#buf;
    this.#buf = Buffer.alloc(0);
    return { bytes, how: this.#ended ?? 'eof', closedAt };
  }

  /** Waits for the server to close the connection; returns when that happened. */
  async waitClosed(timeoutMs = 10_000): Promise<number> {
    await this.#waitFor(() => this.closed, 'the server to close the connection', timeoutMs);
    const at = this.#closedAt;
    assert.ok(at !== undefined);
    return at;
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

  /**
   * Consumes and returns one whole frame, header included. An absurd announced length fails as
   * soon as the header is in, rather than after waiting out the timeout for a body never sent.
   */
  async #readFrame(headerBytes: number, announced: (header: Buffer) => number, what: string, timeoutMs: number): Promise<Buffer> {
    const size = (): number | undefined => (this.#buf.length >= headerBytes ? headerBytes + announced(this.#buf) : undefined);
    const oversized = (): boolean => (size() ?? 0) > headerBytes + MAX_REPLY_FRAME;
    const whole = (): boolean => this.#buf.length >= (size() ?? Number.MAX_SAFE_INTEGER);
    await this.#waitFor(() => whole() || oversized() || this.closed, what, timeoutMs);
    assert.ok(!oversized(), `the server announced a ${(size() ?? 0) - headerBytes}-byte frame`);
    const n = size();
    if (n === undefined || this.#buf.length < n) throw new Error(`connection ended (${this.#ended}) after ${this.#buf.length} bytes, before ${what} was whole`);
    const frame = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return frame;
  }
}

/** Connects, writes `bytes` in one write, and collects everything until the server closes. */
export async function sendAndCollect(port: number, bytes: Uint8Array, timeoutMs = 10_000): Promise<ConnRemainder> {
  const c = await RawConn.connect(port);
  try {
    await c.write(bytes);
    return await c.readToEnd(timeoutMs);
  } finally {
    c.destroy();
  }
}
