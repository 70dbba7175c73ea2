/**
 * An authenticated WebSocket's application messages: delivered to onMessage in order, one at a
 * time, unwrapped first and replies wrapped when the acceptor's wrapMessages is set. One channel
 * per socket, made when its handshake completes.
 */
import { FramingError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Session } from '../session.js';
import { describeFailure } from '../handshake/index.js';
import { WS_CLOSE, type WsClose, type WsCloseCode } from './wsClose.js';

/** Application messages queued per socket before the server stops reading it (1008). */
export const MAX_PENDING_MESSAGES = 64;

/** Called with each application message; see WsAcceptorOptions.onMessage. */
export type WsMessageHandler = (
  session: Session,
  message: Buffer,
  reply: (data: Uint8Array | string) => void,
) => void | Promise<void>;

/** The acceptor's side of one open WebSocket, as the channel uses it. */
export interface WsChannelSocket {
  readonly connectionId: number;
  /** True once uWS's close handler ran: the socket must not be touched any more. */
  readonly closed: boolean;
  /** Sends one binary message (corked); a send uWS drops for backpressure closes the socket. */
  send(data: Uint8Array): void;
  /** Reports `err` and closes with `close`. */
  fail(err: unknown, close: WsClose): void;
  /** Closes with `code` and `reason`. */
  end(code: WsCloseCode, reason: string): void;
}

export interface WsMessageChannelOptions {
  /** Application messages are GSS wrap tokens both ways. */
  wrapMessages: boolean;
  onMessage: WsMessageHandler | undefined;
  logger: Logger;
}

export class WsMessageChannel {
  readonly #socket: WsChannelSocket;
  readonly #session: Session;
  readonly #options: WsMessageChannelOptions;
  /** Application messages received and not yet delivered. */
  #pending = 0;
  /** Delivery chain: messages are delivered in order, one at a time. */
  #inbound: Promise<void> = Promise.resolve();
  /** wrap/unwrap chain: a context serves one protection call at a time (ERR_CONTEXT_BUSY). */
  #protect: Promise<void> = Promise.resolve();

  constructor(socket: WsChannelSocket, session: Session, options: WsMessageChannelOptions) {
    this.#socket = socket;
    this.#session = session;
    this.#options = options;
  }

  /** Queues an application message (already copied out of uWS) for in-order delivery. */
  push(data: Buffer): void {
    if (!this.#options.onMessage) return;
    if (this.#pending >= MAX_PENDING_MESSAGES) {
      this.#socket.fail(
        new FramingError('ERR_WS_PROTOCOL', `more than ${MAX_PENDING_MESSAGES} messages waiting for delivery`),
        {
          code: WS_CLOSE.POLICY_VIOLATION,
          reason: 'too many pending messages',
        },
      );
      return;
    }
    this.#pending += 1;
    this.#inbound = this.#inbound
      .then(() => this.#deliver(data))
      .catch(() => undefined)
      .finally(() => {
        this.#pending -= 1;
      });
  }

  async #deliver(data: Buffer): Promise<void> {
    const socket = this.#socket;
    const session = this.#session;
    const onMessage = this.#options.onMessage;
    if (socket.closed || !onMessage) return;
    let message = data;
    if (this.#options.wrapMessages) {
      try {
        message = (await this.#serial(() => session.unwrap(data))).message;
      } catch (err) {
        if (!socket.closed) socket.fail(err, { code: WS_CLOSE.POLICY_VIOLATION, reason: 'unwrap failed' });
        return;
      }
      if (socket.closed) return;
    }
    try {
      await onMessage(session, message, (reply) => this.#reply(reply));
    } catch (err) {
      this.#options.logger.error('onMessage failed', {
        connectionId: socket.connectionId,
        frontend: 'ws',
        message: err instanceof Error ? err.message : String(err),
      });
      socket.end(WS_CLOSE.INTERNAL_ERROR, 'internal error');
    }
  }

  #reply(data: Uint8Array | string): void {
    const socket = this.#socket;
    if (socket.closed) return;
    const plain = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (!this.#options.wrapMessages) {
      socket.send(plain);
      return;
    }
    // Wrapped in the order reply() was called and sent as each wrap returns: the peer's
    // sequence checks see them in order.
    this.#serial(async () => {
      if (socket.closed) return;
      const token = await this.#session.wrap(plain);
      socket.send(token);
    }).catch((err: unknown) => {
      if (socket.closed) return;
      this.#options.logger.warn('wrap failed', {
        connectionId: socket.connectionId,
        frontend: 'ws',
        code: describeFailure(err).code,
      });
      socket.end(WS_CLOSE.INTERNAL_ERROR, 'internal error');
    });
  }

  /** Runs `fn` after every protection call queued before it on this socket. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#protect.then(fn);
    this.#protect = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }
}
