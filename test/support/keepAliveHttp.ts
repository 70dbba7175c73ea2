/**
 * An HTTP/1.1 client on one raw TCP connection that it never replaces, for tests whose point
 * is which connection a request travels on (connection-bound NTLM). node's Agent may silently
 * open another socket; this cannot. Responses are parsed by hand (status, headers, a
 * Content-Length body) and every wait is bounded.
 */
import net from 'node:net';

export interface KeepAliveAnswer {
  status: number;
  /** Lowercase names; repeated headers in order. */
  headers: Map<string, string[]>;
  body: string;
}

export class KeepAliveConnection {
  readonly socket: net.Socket;
  #buf: Buffer = Buffer.alloc(0);
  #closed = false;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, c]);
      this.#wake?.();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  static async open(port: number, host = '127.0.0.1'): Promise<KeepAliveConnection> {
    const socket = net.connect(port, host);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new KeepAliveConnection(socket);
  }

  /** True once the server (or we) closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  /** One GET on this connection; resolves with the whole response. */
  async get(urlPath: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<KeepAliveAnswer> {
    if (this.#closed) throw new Error('the connection is closed');
    const lines = [
      `GET ${urlPath} HTTP/1.1`,
      'Host: localhost',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    return this.#read(Date.now() + timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }

  async #read(deadline: number): Promise<KeepAliveAnswer> {
    for (;;) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = this.#buf.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
        const headers = new Map<string, string[]>();
        for (const line of head.slice(1)) {
          const colon = line.indexOf(':');
          const name = line.slice(0, colon).trim().toLowerCase();
          headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
        }
        const length = Number(headers.get('content-length')?.[0] ?? 'NaN');
        if (!Number.isInteger(length)) throw new Error(`no Content-Length in ${head.join(' | ')}`);
        if (this.#buf.length >= end + 4 + length) {
          const body = this.#buf.subarray(end + 4, end + 4 + length).toString('utf8');
          this.#buf = this.#buf.subarray(end + 4 + length);
          return { status, headers, body };
        }
      }
      if (this.#closed) throw new Error('the server closed the connection before a whole response');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no whole response in time');
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, Math.min(left, 100));
      });
    }
  }
}
