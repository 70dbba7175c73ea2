/**
 * The response a protected HTTP route gets, and the request facts copied out of uWS for it.
 * Reply keeps the uWS response rules (abort handler before the first await, corked writes) so
 * that route handlers need not.
 */
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uwebsockets';

/** The request as copied out of uWS before any await. */
export interface HttpRequestInfo {
  /** Lowercase method, e.g. `get`. */
  readonly method: string;
  /** Path, from the first slash, without the query. */
  readonly url: string;
  /** Raw query string (after `?`), or ''. */
  readonly query: string;
  /** Values of the route pattern's `:name` parameters, in order. */
  readonly parameters: readonly string[];
  /**
   * The whole request body (Content-Length or chunked, undone), at most the route's
   * `maxBodyBytes`; empty when there was none. Read only once the client was authenticated.
   */
  readonly body: Buffer;
}

/** The request as copied out of uWS before any await, before its body is read. */
export type HttpRequestHead = Omit<HttpRequestInfo, 'body'>;

/** Request headers, lowercase names. `authorization` is left out: its token is spent and is a credential. */
export type HttpHeaders = Readonly<Record<string, string>>;

/**
 * The response handed to a protected route. Valid until `end` succeeds or the client aborts;
 * every method is safe to call after an abort (it does nothing and returns false).
 */
export interface HttpReply {
  /** True once the client went away; nothing can be sent any more. */
  readonly aborted: boolean;
  /** True once a response was sent (or the client went away). */
  readonly finished: boolean;
  /**
   * Headers the Negotiate flow adds to the response (the final WWW-Authenticate token for
   * mutual authentication, Set-Cookie). `end` and `json` send them; `raw` users must too.
   */
  readonly authHeaders: ReadonlyArray<readonly [string, string]>;
  /** Called once if the client goes away before the response is sent. */
  onAborted(cb: () => void): void;
  /**
   * Sends the whole response (corked, one write). Status default 200. Returns false if it could
   * not. To a HEAD request it sends the headers, `Content-Length` of `body` included, and no body.
   */
  end(body?: string | Uint8Array, options?: { status?: number; headers?: Record<string, string> }): boolean;
  /** Sends `value` as JSON (`Cache-Control: no-store`). */
  json(value: unknown, status?: number): boolean;
  /**
   * The uWS response, for streaming. Using it, you own the uWS rules: cork every write done
   * after an await, check `aborted` first, write `authHeaders`, and end it.
   */
  readonly raw: HttpResponse;
}

const statusLines = new Map<number, string>();

/** `200 OK`: uWS wants the whole status line. */
export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Status'}`;
    // Only the few statuses a server answers are kept (a handler may pass any number).
    if (statusLines.size < 64) statusLines.set(status, line);
  }
  return line;
}

/** The headers `json` sends. */
const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
});

/** Run just before the response is written; `closeConnection: true` makes it close the connection. */
export type BeforeResponse = () => { closeConnection: boolean };

/** The HttpReply of one request; registers uWS's abort handler at once. */
export class Reply implements HttpReply {
  readonly raw: HttpResponse;
  readonly authHeaders: Array<readonly [string, string]> = [];
  /**
   * With Basic authentication on: its challenge, written after the `Negotiate` one of a 401
   * (RFC 9110 §11.6.1: one header per challenge; the preferred one first).
   */
  extraChallenge: string | undefined;
  /** A HEAD request: responses carry headers only. */
  readonly headOnly: boolean;
  #aborted = false;
  #finished = false;
  #onAborted: Array<() => void> = [];
  #beforeResponse: BeforeResponse | undefined;

  constructor(res: HttpResponse, method = 'get') {
    this.raw = res;
    this.headOnly = method === 'head';
    // uWS: a response not ended synchronously MUST have an abort handler, registered before
    // returning from the route (i.e. before the first await); after it fires, res is freed.
    res.onAborted(() => {
      this.#aborted = true;
      this.#finished = true;
      for (const cb of this.#onAborted.splice(0)) cb();
    });
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get finished(): boolean {
    return this.#finished;
  }

  onAborted(cb: () => void): void {
    if (this.#aborted) cb();
    else this.#onAborted.push(cb);
  }

  /** Registers the request body's hook (src/acceptors/httpBody.ts), run before the response is written. */
  setBeforeResponse(hook: BeforeResponse): void {
    this.#beforeResponse = hook;
  }

  /** `closeConnection`: close the connection once this response is written (uWS adds `Connection: close`). */
  end(
    body: string | Uint8Array = '',
    options: { status?: number; headers?: Record<string, string>; closeConnection?: boolean } = {},
  ): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    const res = this.raw;
    // Corked: after an await we are outside uWS's implicit cork, where each writeHeader would
    // be its own syscall (or TLS record) and uWS warns; cork packs status, headers and body into
    // one write. Inside the synchronous top of a route, cork simply runs the callback.
    res.cork(() => {
      const closeConnection = (this.#beforeResponse?.().closeConnection ?? false) || options.closeConnection === true;
      res.writeStatus(statusLine(options.status ?? 200));
      for (const [k, v] of this.authHeaders) res.writeHeader(k, v);
      const headers = options.headers === undefined ? [] : Object.entries(options.headers);
      for (const [k, v] of headers) {
        res.writeHeader(k, v);
        if (this.extraChallenge !== undefined && options.status === 401 && k === 'WWW-Authenticate')
          res.writeHeader(k, this.extraChallenge);
      }
      if (this.headOnly && closeConnection) {
        // This build's endWithoutBody writes `Connection: close` but does not close: an empty
        // end() does (its `Content-Length: 0` is no GET's length, but nothing follows it).
        res.end('', true);
      } else if (this.headOnly) {
        // HEAD: GET's headers without the body. This build's endWithoutBody(length) leaves the
        // response pending (the next request on the connection then closes it), so the length
        // is written as a header and endWithoutBody() adds none.
        if (!headers.some(([k]) => k.toLowerCase() === 'content-length')) {
          res.writeHeader(
            'Content-Length',
            String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength),
          );
        }
        res.endWithoutBody();
      } else {
        res.end(body, closeConnection);
      }
    });
    return true;
  }

  json(value: unknown, status = 200): boolean {
    return this.end(JSON.stringify(value), { status, headers: JSON_HEADERS });
  }
}
