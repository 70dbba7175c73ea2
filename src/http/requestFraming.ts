/**
 * Request framing that two HTTP parsers could read differently (RFC 9112 §6.1–6.3), so that one
 * of them finds a second, smuggled request in what the other took for a body. This uWebSockets.js
 * build (20.30) accepts some of them: with two Content-Length headers the first wins and the
 * rest of the bytes are parsed as the next request; `Transfer-Encoding: chunked, identity` is
 * read as chunked. A request whose header block has any of these is refused (400, then close)
 * by the HTTP front end, and nothing after it on the connection is answered.
 */

/** Why a request's framing is ambiguous; the text is safe to log and to send back. */
export type FramingDefect =
  | 'duplicate Content-Length'
  | 'invalid Content-Length'
  | 'Transfer-Encoding other than chunked'
  | 'both Content-Length and Transfer-Encoding';

/**
 * Checks the framing headers of one request, given every header line as uWS reports it
 * (lowercase names, one call per line, repeated names repeated). Returns undefined when the
 * framing is unambiguous: at most one Content-Length, a plain decimal number; or exactly one
 * `Transfer-Encoding: chunked` and no Content-Length; or neither.
 */
export function framingDefect(headers: Iterable<readonly [string, string]>): FramingDefect | undefined {
  let contentLength: string | undefined;
  let contentLengths = 0;
  let transferEncodings = 0;
  let transferEncoding = '';
  for (const [name, value] of headers) {
    if (name === 'content-length') {
      contentLengths++;
      contentLength = value;
    } else if (name === 'transfer-encoding') {
      transferEncodings++;
      transferEncoding = value;
    }
  }
  if (contentLengths > 1) return 'duplicate Content-Length';
  // A list ("5, 45") is a duplicate folded into one line; a sign or space is another parser's guess.
  if (contentLength !== undefined && !/^\d{1,15}$/.test(contentLength.trim())) return 'invalid Content-Length';
  if (transferEncodings > 0) {
    // Only the one coding this server (and uWS) implements, exactly once.
    if (transferEncodings > 1 || transferEncoding.trim().toLowerCase() !== 'chunked') return 'Transfer-Encoding other than chunked';
    if (contentLengths > 0) return 'both Content-Length and Transfer-Encoding';
  }
  return undefined;
}
