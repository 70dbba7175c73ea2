/**
 * The raw TCP framings of the load (docs/protocols.md): one connection per handshake, as the
 * reference clients do. `sspi`: send `[u32 LE N][token]`, read the reply frame, then the
 * greeting until the server closes. `gss-sample`: send a NOOP with CONTEXT_NEXT and the CONTEXT
 * frame, read the reply CONTEXT frame, send one plain DATA message, read the NOOP that answers
 * it, send the closing NOOP, wait for the close. A reply frame alone proves nothing (a refusing
 * server sends its error token, then closes): a handshake counts when the server also spoke
 * as an established session does (the greeting; the DATA answer) and then closed. Latency runs
 * from connect to that close.
 */
import net from 'node:net';
import type { ErrorKind, HandshakeClient, HandshakeOutcome } from './outcome.js';

export type TcpFraming = 'sspi' | 'gss-sample';

/** Larger than any context token; a reply header announcing more is a protocol error. */
const MAX_REPLY_BYTES = 64 * 1024;

const GSS_NOOP = 0x01;
const GSS_CONTEXT = 0x02;
const GSS_DATA = 0x04;
const GSS_CONTEXT_NEXT = 0x10;

interface Framing {
  header: number;
  request(token: Buffer): Buffer;
  /** The body length from a complete header, or a reason the header is wrong. */
  length(header: Buffer): number | string;
  /** Sent once the reply arrived. */
  afterReply: Buffer | undefined;
  /** Bytes the server sends after the reply only on an established session. */
  confirmBytes: number;
  /** Whether those bytes are what an established session sends. */
  confirms(bytes: Buffer): boolean;
  /** Sent, ending our side, once confirmed. */
  afterConfirmed: Buffer | undefined;
}

const FRAMINGS: Record<TcpFraming, Framing> = {
  sspi: {
    header: 4,
    request(token) {
      const frame = Buffer.allocUnsafe(4 + token.length);
      frame.writeUInt32LE(token.length, 0);
      token.copy(frame, 4);
      return frame;
    },
    length: (header) => header.readUInt32LE(0),
    afterReply: undefined,
    // The greeting: [u32 LE trailer length][trailer][ciphertext], delimited by the close.
    confirmBytes: 5,
    confirms: () => true,
    afterConfirmed: undefined,
  },
  'gss-sample': {
    header: 5,
    request(token) {
      const frame = Buffer.alloc(10 + token.length);
      frame[0] = GSS_NOOP | GSS_CONTEXT_NEXT;
      frame[5] = GSS_CONTEXT;
      frame.writeUInt32BE(token.length, 6);
      token.copy(frame, 10);
      return frame;
    },
    length: (header) =>
      header[0] === GSS_CONTEXT ? header.readUInt32BE(1) : `reply flags 0x${header[0]?.toString(16)}`,
    // A plain DATA message: gss-server (and ours) answers it with a NOOP on an established session.
    afterReply: Buffer.from([GSS_DATA, 0, 0, 0, 1, 0x78]),
    confirmBytes: 5,
    confirms: (bytes) => bytes[0] === GSS_NOOP,
    afterConfirmed: Buffer.from([GSS_NOOP, 0, 0, 0, 0]),
  },
};

export class TcpClient implements HandshakeClient {
  readonly #host: string;
  readonly #port: number;
  readonly #framing: Framing;
  #socket: net.Socket | undefined;
  #settle: ((outcome: HandshakeOutcome) => void) | undefined;

  constructor(framing: TcpFraming, host: string, port: number) {
    this.#framing = FRAMINGS[framing];
    this.#host = host;
    this.#port = port;
  }

  handshake(token: string): Promise<HandshakeOutcome> {
    return new Promise((resolve) => {
      this.#settle = resolve;
      this.#run(Buffer.from(token, 'base64'));
    });
  }

  abort(kind: ErrorKind, detail: string): void {
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#done({ ok: false, kind, detail });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #run(token: Buffer): void {
    const framing = this.#framing;
    const socket = net.connect({ host: this.#host, port: this.#port });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.write(framing.request(token));
    let buffered: Buffer = Buffer.alloc(0);
    let reply: string | undefined;
    let connected = false;
    const fail = (kind: ErrorKind, detail: string): void => {
      if (this.#socket !== socket) return;
      this.abort(kind, detail);
    };
    socket.on('connect', () => {
      connected = true;
    });
    let confirmed = false;
    socket.on('data', (chunk: Buffer) => {
      if (this.#socket !== socket || confirmed) return; // the rest of the greeting
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (reply === undefined) {
        if (buffered.length < framing.header) return;
        const length = framing.length(buffered);
        if (typeof length === 'string' || length === 0 || length > MAX_REPLY_BYTES) {
          fail('protocol', typeof length === 'string' ? length : `reply length ${length}`);
          return;
        }
        if (buffered.length < framing.header + length) return;
        reply = buffered.toString('base64', framing.header, framing.header + length);
        buffered = buffered.subarray(framing.header + length);
        if (framing.afterReply) socket.write(framing.afterReply);
      }
      if (buffered.length < framing.confirmBytes) return;
      if (!framing.confirms(buffered)) {
        fail('protocol', `unexpected answer after the reply (0x${buffered.toString('hex', 0, 5)})`);
        return;
      }
      confirmed = true;
      if (framing.afterConfirmed) socket.end(framing.afterConfirmed);
    });
    socket.on('end', () => {
      if (this.#socket !== socket) return;
      if (!confirmed) {
        fail('refused', reply === undefined ? 'closed without a reply token' : 'closed after the reply token');
        return;
      }
      socket.end();
      this.#socket = undefined;
      this.#done({ ok: true, reply });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset before the session was confirmed is the server refusing, as a close is.
      if (connected && !confirmed && err.code === 'ECONNRESET')
        fail('refused', 'reset before the session was confirmed');
      else fail('connection', err.code ?? err.message);
    });
    socket.on('close', () => fail('connection', 'connection closed'));
  }

  #done(outcome: HandshakeOutcome): void {
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.(outcome);
  }
}
