/**
 * One keep-alive HTTP/1.1 connection of the load: each handshake is one `GET` with
 * `Authorization: Negotiate <token>`, the next sent when the answer has arrived (no
 * pipelining). A connection the server closes (or that fails) is opened again for the next
 * handshake. Written on node:net / node:tls directly: a full HTTP client would cost the
 * load generator more CPU than the server under test spends on some requests.
 */
import net from 'node:net';
import tls from 'node:tls';
import { HttpProtocolError, HttpResponseParser, type HttpResponse } from './HttpResponseParser.js';
import type { ErrorKind, HandshakeClient, HandshakeOutcome } from './outcome.js';

export interface HttpTarget {
  tls: boolean;
  host: string;
  port: number;
  /** The request target: path and query. */
  path: string;
  /** Verify the server's certificate (https). */
  verify: boolean;
}

export class HttpClient implements HandshakeClient {
  readonly #target: HttpTarget;
  readonly #requestHead: string;
  readonly #parser = new HttpResponseParser();
  #socket: net.Socket | undefined;
  #settle: ((outcome: HandshakeOutcome) => void) | undefined;

  constructor(target: HttpTarget) {
    this.#target = target;
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    const defaultPort = target.tls ? 443 : 80;
    this.#requestHead =
      `GET ${target.path} HTTP/1.1\r\nHost: ${host}${target.port === defaultPort ? '' : `:${target.port}`}\r\n` +
      `User-Agent: negotiate-server-loadgen\r\nAuthorization: Negotiate `;
  }

  handshake(token: string): Promise<HandshakeOutcome> {
    return new Promise((resolve) => {
      this.#settle = resolve;
      (this.#socket ?? this.#connect()).write(`${this.#requestHead}${token}\r\n\r\n`);
    });
  }

  abort(kind: ErrorKind, detail: string): void {
    this.#drop();
    this.#done({ ok: false, kind, detail });
  }

  close(): void {
    this.#drop();
  }

  #connect(): net.Socket {
    const { host, port } = this.#target;
    const socket = this.#target.tls
      ? tls.connect({
          host,
          port,
          servername: net.isIP(host) ? undefined : host,
          rejectUnauthorized: this.#target.verify,
        })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    // Events of a socket already dropped (aborted, closed) must not settle a later handshake.
    socket.on('data', (chunk: Buffer) => {
      if (this.#socket !== socket) return;
      let response: HttpResponse | undefined;
      try {
        response = this.#parser.push(chunk);
      } catch (err) {
        this.abort('protocol', (err as HttpProtocolError).message);
        return;
      }
      if (response === undefined) return;
      if (response.close) this.#drop();
      this.#done(toOutcome(response));
    });
    socket.on('end', () => {
      if (this.#socket !== socket) return;
      const response = this.#parser.end();
      this.#drop();
      this.#done(response ? toOutcome(response) : { ok: false, kind: 'connection', detail: 'closed before answering' });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.#socket !== socket) return;
      this.#drop();
      this.#done({ ok: false, kind: 'connection', detail: err.code ?? err.message });
    });
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#drop();
      this.#done({ ok: false, kind: 'connection', detail: 'connection closed' });
    });
    this.#socket = socket;
    return socket;
  }

  #drop(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#parser.reset();
    socket?.destroy();
  }

  #done(outcome: HandshakeOutcome): void {
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.(outcome);
  }
}

function toOutcome(r: HttpResponse): HandshakeOutcome {
  if (r.status >= 200 && r.status < 400) return { ok: true, reply: r.negotiate, status: r.status };
  const kind = r.status === 401 || r.status === 403 ? 'refused' : 'httpStatus';
  return { ok: false, kind, detail: `HTTP ${r.status}`, status: r.status };
}
