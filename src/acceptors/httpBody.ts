/**
 * Reading a protected request's body off uWS, bounded, and never ahead of authentication
 * (docs/http.md, "Request bodies").
 *
 * uWS rules kept here:
 *  - onData must be registered in the synchronous top of the route handler: body bytes that
 *    arrived with the header block are handed over right after the handler returns, and
 *    without a handler they are dropped.
 *  - The chunk's ArrayBuffer is uWS's receive buffer, reused (neutered) after the callback:
 *    copy it before keeping it.
 *  - `res.pause()` stops reading from the socket (and its idle timeout); `res.resume()` must
 *    come before the response ends, because `res` is invalid afterwards.
 * uWS itself undoes the framing (Content-Length and chunked alike): chunks are body bytes.
 */
import type { HttpResponse } from 'uwebsockets';

/** Default largest body a protected route accepts: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Default budget of body bytes held, across requests, while their handshake runs: 8 MiB. */
export const DEFAULT_MAX_BODY_BYTES_BEFORE_AUTH = 8 * 1024 * 1024;

/** Body bytes one HTTP acceptor holds; its budget before authentication. */
export class BodyAccounting {
  readonly maxBytesBeforeAuth: number;
  /** Body bytes held right now, every request together. */
  buffered = 0;
  /** Of `buffered`, the bytes of requests whose handshake is still running. */
  heldBeforeAuth = 0;
  /** Body bytes received before their request was authenticated, since start (a counter). */
  receivedBeforeAuth = 0;

  constructor(maxBytesBeforeAuth: number) {
    this.maxBytesBeforeAuth = maxBytesBeforeAuth;
  }
}

/** Why a body was not read to its end. */
export type BodyRefusal = 'tooLarge' | 'overBudget';

export type BodyOutcome = { readonly kind: 'complete'; readonly body: Buffer } | { readonly kind: 'unread' };

export interface BodyReaderOptions {
  readonly maxBytes: number;
  readonly accounting: BodyAccounting;
  /** False while a handshake must still prove the client: reading from the socket pauses. */
  readonly authenticated: boolean;
  /** The request announced a body (Content-Length > 0, or chunked). */
  readonly expectsBody: boolean;
  /** Called once, synchronously from uWS's data callback, when the body is refused. */
  readonly onRefused: (why: BodyRefusal) => void;
}

/**
 * One request's body. Create it in the synchronous top of the route handler. `result`
 * resolves once with the whole body, or `unread` when the body was refused, the client went
 * away, or the response was sent first. `release()` returns its bytes to the accounting.
 */
export class BodyReader {
  readonly result: Promise<BodyOutcome>;
  readonly #res: HttpResponse;
  readonly #options: BodyReaderOptions;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #bytesBeforeAuth = 0;
  #authenticated: boolean;
  #paused = false;
  #complete = false;
  #settled = false;
  #resolve!: (outcome: BodyOutcome) => void;

  constructor(res: HttpResponse, options: BodyReaderOptions) {
    this.#res = res;
    this.#options = options;
    this.#authenticated = options.authenticated;
    this.result = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    res.onData((chunk, isLast) => this.#onData(chunk, isLast));
    // Only the bytes uWS read together with the header block reach us before the handshake
    // ends; the rest stays in the kernel (and the client's) buffers until resume().
    if (!options.authenticated && options.expectsBody) {
      res.pause();
      this.#paused = true;
    }
  }

  /** Every body byte arrived. */
  get complete(): boolean {
    return this.#complete;
  }

  /** The handshake proved the client: read the rest. Call while the response is still open. */
  authenticated(): void {
    if (this.#authenticated) return;
    this.#authenticated = true;
    this.#options.accounting.heldBeforeAuth -= this.#bytesBeforeAuth;
    this.#bytesBeforeAuth = 0;
    this.#resumeReading();
  }

  /**
   * The response is about to be written (uWS's `res` is invalid after it): resumes reading if
   * paused, drops what was held, and says whether the connection must close because the
   * rest of the body was never read (so uWS is not left to read and discard it).
   */
  beforeResponse(): { closeConnection: boolean } {
    this.#resumeReading();
    const closeConnection = !this.#complete;
    this.#settle({ kind: 'unread' });
    return { closeConnection };
  }

  /** The client went away: nothing more arrives, and `res` must not be touched (no resume). */
  aborted(): void {
    this.#paused = false;
    this.#settle({ kind: 'unread' });
  }

  /** Returns the bytes held to the accounting. Idempotent. */
  release(): void {
    const a = this.#options.accounting;
    a.buffered -= this.#bytes;
    a.heldBeforeAuth -= this.#bytesBeforeAuth;
    this.#bytes = 0;
    this.#bytesBeforeAuth = 0;
    this.#chunks = [];
  }

  #resumeReading(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#res.resume();
  }

  #onData(chunk: ArrayBuffer, isLast: boolean): void {
    if (isLast) this.#complete = true;
    if (this.#settled) return;
    const n = chunk.byteLength;
    if (this.#bytes + n > this.#options.maxBytes) {
      this.#refuse('tooLarge');
      return;
    }
    const a = this.#options.accounting;
    if (!this.#authenticated && n > 0) {
      if (a.heldBeforeAuth + n > a.maxBytesBeforeAuth) {
        this.#refuse('overBudget');
        return;
      }
      a.receivedBeforeAuth += n;
      a.heldBeforeAuth += n;
      this.#bytesBeforeAuth += n;
    }
    if (n > 0) {
      // A copy: uWS reuses the chunk's memory as soon as this callback returns.
      this.#chunks.push(Buffer.from(new Uint8Array(chunk)));
      this.#bytes += n;
      a.buffered += n;
    }
    if (isLast) this.#settle({ kind: 'complete', body: Buffer.concat(this.#chunks, this.#bytes) });
  }

  #refuse(why: BodyRefusal): void {
    this.release();
    this.#settle({ kind: 'unread' });
    this.#options.onRefused(why);
  }

  #settle(outcome: BodyOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    // The chunks were joined into the outcome's body (or are dropped): keep one copy only.
    this.#chunks = [];
    if (outcome.kind === 'unread') this.release();
    this.#resolve(outcome);
  }
}
