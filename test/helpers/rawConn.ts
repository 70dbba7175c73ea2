/**
 * A raw TCP client for tests that speak a framing by hand: writes bytes, keeps every byte the
 * server sends, and reports how the server ended the connection. Bounded in time.
 */
import net from 'node:net';

export class RawConn {
  readonly socket: net.Socket;
  /** Everything received so far. */
  received: Buffer = Buffer.alloc(0);
  readonly #closed: Promise<'eof' | 'reset'>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    let how: 'eof' | 'reset' = 'eof';
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
    });
    socket.on('error', () => {
      how = 'reset';
    });
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve(how)));
  }

  /** Connects to 127.0.0.1:`port` (or `host`), failing after `timeoutMs`. */
  static connect(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve(new RawConn(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  write(data: Uint8Array): void {
    this.socket.write(data);
  }

  /** Resolves with how the connection ended; rejects (and destroys it) after `timeoutMs`. */
  async closed(timeoutMs = 10_000): Promise<'eof' | 'reset'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.socket.destroy();
        reject(new Error(`the server kept the connection open for ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.#closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
