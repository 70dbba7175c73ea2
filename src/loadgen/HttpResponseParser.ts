/**
 * An incremental parser of HTTP/1.1 responses, just enough for the load generator: the status,
 * the `WWW-Authenticate: Negotiate` token, whether the server closes, and the body's end
 * (Content-Length, chunked, or the close). Bounded: a head over 64 KiB is a protocol error.
 */

const MAX_HEAD_BYTES = 64 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

export interface HttpResponse {
  status: number;
  /** The base64 token of `WWW-Authenticate: Negotiate <token>`, if any. */
  negotiate: string | undefined;
  /** The server closes the connection after this response. */
  close: boolean;
}

type BodyState =
  | { kind: 'length'; left: number }
  | { kind: 'chunked'; left: number; phase: 'size' | 'data' | 'crlf' | 'trailer'; line: string }
  | { kind: 'untilClose' };

export class HttpProtocolError extends Error {}

export class HttpResponseParser {
  #head: Buffer | undefined;
  #response: HttpResponse | undefined;
  #body: BodyState | undefined;

  /**
   * Feeds bytes; returns the response once its last byte has arrived, else undefined. Bytes
   * after the response are ignored (requests are never pipelined).
   * @throws HttpProtocolError on a malformed or oversized head or chunk size.
   */
  push(chunk: Buffer): HttpResponse | undefined {
    let rest = chunk;
    if (this.#response === undefined) {
      const head = this.#head === undefined ? chunk : Buffer.concat([this.#head, chunk]);
      const end = head.indexOf(CRLFCRLF);
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) throw new HttpProtocolError('response head over 64 KiB');
        this.#head = head;
        return undefined;
      }
      this.#head = undefined;
      this.#parseHead(head.toString('latin1', 0, end));
      rest = head.subarray(end + 4);
    }
    return this.#consumeBody(rest) ? this.#finish() : undefined;
  }

  /** The connection ended: completes a body delimited by the close, else undefined. */
  end(): HttpResponse | undefined {
    return this.#body?.kind === 'untilClose' ? this.#finish() : undefined;
  }

  /** Forgets a response in progress (the connection was closed). */
  reset(): void {
    this.#head = undefined;
    this.#response = undefined;
    this.#body = undefined;
  }

  #finish(): HttpResponse | undefined {
    const r = this.#response;
    this.reset();
    return r;
  }

  #parseHead(text: string): void {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m)
      throw new HttpProtocolError(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
    const status = Number(m[1]);
    let length: number | undefined;
    let chunked = false;
    let close = lines[0]?.startsWith('HTTP/1.0') ?? false;
    let negotiate: string | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = /chunked/i.test(value);
      else if (name === 'connection') close = /close/i.test(value) ? true : /keep-alive/i.test(value) ? false : close;
      else if (name === 'www-authenticate' && /^negotiate\s+\S/i.test(value)) negotiate = value.slice(9).trim();
    }
    if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0)) {
      throw new HttpProtocolError('bad Content-Length');
    }
    this.#response = { status, negotiate, close };
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) this.#body = { kind: 'length', left: 0 };
    else if (chunked) this.#body = { kind: 'chunked', left: 0, phase: 'size', line: '' };
    else if (length !== undefined) this.#body = { kind: 'length', left: length };
    else {
      this.#body = { kind: 'untilClose' };
      this.#response.close = true;
    }
  }

  /** True when the body is complete. */
  #consumeBody(bytes: Buffer): boolean {
    const body = this.#body;
    if (body === undefined) return false;
    if (body.kind === 'untilClose') return false;
    if (body.kind === 'length') {
      body.left -= Math.min(body.left, bytes.length);
      return body.left === 0;
    }
    let i = 0;
    while (i < bytes.length) {
      if (body.phase === 'data') {
        const n = Math.min(body.left, bytes.length - i);
        body.left -= n;
        i += n;
        if (body.left === 0) body.phase = 'crlf';
        continue;
      }
      const nl = bytes.indexOf(10, i);
      const part = bytes.toString('latin1', i, nl < 0 ? bytes.length : nl);
      if (body.line.length + part.length > 1024) throw new HttpProtocolError('chunk line too long');
      body.line += part;
      if (nl < 0) return false;
      i = nl + 1;
      const line = body.line.replace(/\r$/, '');
      body.line = '';
      if (body.phase === 'crlf') {
        body.phase = 'size';
      } else if (body.phase === 'size') {
        const size = parseInt(line, 16);
        if (!Number.isSafeInteger(size) || size < 0) throw new HttpProtocolError('bad chunk size');
        body.left = size;
        body.phase = size === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        return true; // the empty line that ends the trailer
      }
    }
    return false;
  }
}
