// A minimal lock-step client connection for the soak's raw-TCP conversations: buffered reads of
// whole sspi / gss-sample frames and of everything until the peer closes, each bounded in time.
// The framings are parsed by these few lines rather than the product's codecs, so a codec bug
// cannot hide on both sides (as in bench/lib/tcpLoad.mjs).
import net from 'node:net';

/** Largest frame or trailing message accepted from the server. */
const MAX_REPLY = 64 * 1024;

export class WireConn {
  /** @type {net.Socket} */
  socket;
  /** @type {Buffer} */
  #buf = Buffer.alloc(0);
  /** @type {'eof' | 'reset' | undefined} */
  #ended;
  #closed = false;
  /** @type {Array<() => void>} */
  #wake = [];

  /** @param {net.Socket} socket */
  constructor(socket) {
    this.socket = socket;
    socket.on('data', (c) => {
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
      this.#closed = true;
      this.#notify();
    });
  }

  /**
   * @param {number} port
   * @param {number} timeoutMs
   * @returns {Promise<WireConn>}
   */
  static connect(port, timeoutMs) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        resolve(new WireConn(s));
      });
      const onError = (/** @type {Error} */ e) => {
        clearTimeout(timer);
        reject(e);
      };
      s.once('error', onError);
    });
  }

  get closed() {
    return this.#closed;
  }

  /** How the peer ended the connection, once it did. */
  get ended() {
    return this.#ended;
  }

  /** @param {Uint8Array} b */
  write(b) {
    this.socket.write(b);
  }

  destroy() {
    this.socket.destroy();
  }

  #notify() {
    const w = this.#wake;
    this.#wake = [];
    for (const f of w) f();
  }

  /**
   * @param {() => boolean} cond
   * @param {string} what
   * @param {number} timeoutMs
   */
  async #waitFor(cond, what, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake.push(() => {
          clearTimeout(t);
          resolve(undefined);
        });
      });
    }
  }

  /**
   * One sspi frame `[u32 LE N][N bytes]`, or undefined if the peer closed first.
   * @param {number} timeoutMs
   * @returns {Promise<Buffer | undefined>}
   */
  async readSspiFrame(timeoutMs) {
    const whole = () => this.#buf.length >= 4 && this.#buf.length >= 4 + this.#buf.readUInt32LE(0);
    await this.#waitFor(
      () => whole() || this.#closed || (this.#buf.length >= 4 && this.#buf.readUInt32LE(0) > MAX_REPLY),
      'an sspi frame',
      timeoutMs,
    );
    if (!whole()) return undefined;
    const n = this.#buf.readUInt32LE(0);
    if (n > MAX_REPLY) throw new Error(`reply frame of ${n} bytes`);
    const body = this.#buf.subarray(4, 4 + n);
    this.#buf = this.#buf.subarray(4 + n);
    return body;
  }

  /**
   * One gss-sample frame `[flags][u32 BE N][N bytes]`, or undefined if the peer closed first.
   * @param {number} timeoutMs
   * @returns {Promise<{ flags: number, body: Buffer } | undefined>}
   */
  async readGssFrame(timeoutMs) {
    const whole = () => this.#buf.length >= 5 && this.#buf.length >= 5 + this.#buf.readUInt32BE(1);
    await this.#waitFor(
      () => whole() || this.#closed || (this.#buf.length >= 5 && this.#buf.readUInt32BE(1) > MAX_REPLY),
      'a gss-sample frame',
      timeoutMs,
    );
    if (!whole()) return undefined;
    const n = this.#buf.readUInt32BE(1);
    if (n > MAX_REPLY) throw new Error(`reply frame of ${n} bytes`);
    const flags = /** @type {number} */ (this.#buf[0]);
    const body = this.#buf.subarray(5, 5 + n);
    this.#buf = this.#buf.subarray(5 + n);
    return { flags, body };
  }

  /**
   * Everything left until the peer closes.
   * @param {number} timeoutMs
   * @returns {Promise<{ bytes: Buffer, how: 'eof' | 'reset' }>}
   */
  async readToEnd(timeoutMs) {
    await this.#waitFor(() => this.#closed || this.#buf.length > MAX_REPLY, 'the server to close', timeoutMs);
    if (this.#buf.length > MAX_REPLY) throw new Error(`more than ${MAX_REPLY} bytes before the close`);
    const bytes = this.#buf;
    this.#buf = Buffer.alloc(0);
    return { bytes, how: this.#ended ?? 'eof' };
  }
}

/** @param {Uint8Array} token */
export function sspiFrame(token) {
  const b = Buffer.allocUnsafe(4 + token.length);
  b.writeUInt32LE(token.length, 0);
  b.set(token, 4);
  return b;
}

/**
 * @param {number} flags
 * @param {Uint8Array} [body]
 */
export function gssFrame(flags, body = new Uint8Array(0)) {
  const b = Buffer.allocUnsafe(5 + body.length);
  b[0] = flags;
  b.writeUInt32BE(body.length, 1);
  b.set(body, 5);
  return b;
}

/** gss-sample token flags (PROTOCOLS.md §2). */
export const GssFlag = Object.freeze({
  NOOP: 0x01,
  CONTEXT: 0x02,
  DATA: 0x04,
  MIC: 0x08,
  CONTEXT_NEXT: 0x10,
  WRAPPED: 0x20,
  ENCRYPTED: 0x40,
  SEND_MIC: 0x80,
});
