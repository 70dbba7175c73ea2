/**
 * What one handshake attempt came to, as every client (HTTP, sspi, gss-sample) reports it, and
 * the error kinds the report counts. The kinds are part of `loadgen --json`'s stable output.
 */

/** Error kinds, in the order the report lists them. */
export const ERROR_KINDS = [
  /** The server refused the token: HTTP 401 or 403; TCP: closed without a reply token. */
  'refused',
  /** Any other HTTP status that is not 2xx or 3xx (a 503 when the server sheds load, a 500). */
  'httpStatus',
  /** Could not connect, or the connection failed before the reply (reset, TLS failure). */
  'connection',
  /** No complete answer within --timeout-ms. */
  'timeout',
  /** The answer could not be parsed (not HTTP, a bad frame). */
  'protocol',
  /** A sampled handshake's reply token did not complete the context with mutual authentication. */
  'mutual',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

export type HandshakeOutcome =
  | {
      ok: true;
      /** The server's last token (base64), when it sent one: what mutual authentication checks. */
      reply: string | undefined;
      /** The HTTP status, for the report's status table (TCP: undefined). */
      status?: number;
    }
  | { ok: false; kind: ErrorKind; detail: string; status?: number };

/**
 * One client of the load: runs a handshake with `token` (base64) and settles with its outcome;
 * never rejects. `abort` ends the attempt in progress (as a timeout) and closes its connection.
 */
export interface HandshakeClient {
  handshake(token: string): Promise<HandshakeOutcome>;
  abort(kind: ErrorKind, detail: string): void;
  close(): void;
}
