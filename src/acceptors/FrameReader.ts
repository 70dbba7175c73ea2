/**
 * Turns a socket's byte stream into awaited frames for the lock-step protocols. The peer may
 * send at most `maxQueuedFrames` frames ahead of the server; more is a protocol violation
 * (lock-step peers never do it), which bounds memory per connection.
 */
import type { Socket } from 'node:net';
import { FramingError, NegotiateError } from '../errors.js';

export interface FrameDecoder<F> {
  push(chunk: Buffer): F[];
}

export class FrameReader<F> {
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder<F>;
  readonly #maxQueued: number;
  readonly #queue: F[] = [];
  #waiter: { resolve: (f: F) => void; reject: (e: Error) => void } | undefined;
  #failure: Error | undefined;
  /**
   * The end of the stream, noted without building its error: every connection ends, most after
   * their last frame with nobody waiting, and an Error (with its stack) per connection is a
   * measurable share of a handshake's CPU. Built only if a next() is waiting or comes later.
   */
  #ended: string | undefined;

  constructor(socket: Socket, decoder: FrameDecoder<F>, maxQueuedFrames = 4) {
    this.#socket = socket;
    this.#decoder = decoder;
    this.#maxQueued = maxQueuedFrames;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#end('peer closed the connection before a complete frame'));
    socket.on('close', () => this.#end('connection closed'));
  }

  /** The next frame; rejects when the connection fails, closes or sends something malformed. */
  next(): Promise<F> {
    const f = this.#queue.shift();
    if (f !== undefined) return Promise.resolve(f);
    if (this.#ended !== undefined) this.fail(new FramingError('ERR_FRAME_TRUNCATED', this.#ended));
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<F>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Fails the reader: the pending and every later next() reject with `err` (first one wins). */
  fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(err);
  }

  #end(message: string): void {
    if (this.#failure || this.#ended !== undefined) return;
    if (this.#waiter) this.fail(new FramingError('ERR_FRAME_TRUNCATED', message));
    else this.#ended = message;
  }

  #onData(chunk: Buffer): void {
    if (this.#failure || this.#ended !== undefined) return;
    let frames: F[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.fail(err instanceof NegotiateError ? err : new FramingError('ERR_PROTOCOL', String(err)));
      this.#socket.destroy();
      return;
    }
    // Checked before any frame is handed out: otherwise the waiter's frame of a flooding chunk
    // still reaches GSSAPI (spending the token) and the flood is reported as a mere close.
    if (this.#queue.length + frames.length - (this.#waiter ? 1 : 0) > this.#maxQueued) {
      this.fail(
        new FramingError('ERR_PROTOCOL', `peer sent more than ${this.#maxQueued} frames without waiting for replies`),
      );
      this.#socket.destroy();
      return;
    }
    for (const f of frames) {
      const w = this.#waiter;
      if (w) {
        this.#waiter = undefined;
        w.resolve(f);
      } else {
        this.#queue.push(f);
      }
    }
  }
}
