/**
 * The RFC 4559 header grammar, pure and allocation-bounded:
 *
 *   Authorization:    Negotiate <base64 gssapi-data>      (client → server)
 *   WWW-Authenticate: Negotiate [<base64 gssapi-data>]    (server → client)
 *
 * The scheme name is case-insensitive (RFC 9110 §11.1). The token is standard base64
 * (RFC 4648 §4, alphabet A–Z a–z 0–9 + /, padded with `=` to a multiple of 4). We are strict:
 * no whitespace inside, no base64url, no missing or extra padding, no non-zero unused bits;
 * Node's decoder would silently skip or repair all of those, and a token we cannot re-encode
 * identically is not one a real initiator produced.
 *
 * Length is checked on the text, before decoding: a token longer than the base64 length of
 * `maxTokenBytes` is refused without allocating its decoded form.
 */

/** Failure codes parseAuthorization reports (all in NegotiateErrorCode). */
export type AuthorizationFailureCode =
  'ERR_HTTP_UNSUPPORTED_SCHEME' | 'ERR_HTTP_BAD_AUTHORIZATION' | 'ERR_HTTP_HEADER_TOO_LARGE';

/** What an Authorization header carried. */
export type ParsedAuthorization =
  /** No Authorization header (or an empty one). */
  | { kind: 'none' }
  /** `Negotiate <token>`; `token` is the decoded gssapi-data, never empty. */
  | { kind: 'negotiate'; token: Buffer }
  /**
   * Anything else. `message` is safe to log and to send to the client: it never quotes the
   * credentials, only a sanitized scheme name and lengths. `scheme` is set for
   * ERR_HTTP_UNSUPPORTED_SCHEME.
   */
  | { kind: 'invalid'; code: AuthorizationFailureCode; message: string; scheme?: string };

/** Length in base64 characters of `bytes` bytes (padded). */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

// Linear-time patterns (no nested quantifiers): safe on 100 KB of attacker input.
const kBase64 = /^[A-Za-z0-9+/]+={0,2}$/;
// RFC 9110 token characters, for the scheme name.
const kToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const kMaxSchemeChars = 32;
const kAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/**
 * Parses an Authorization header value (`undefined` or `''` when absent: uWS's getHeader
 * returns `''`). `maxTokenBytes` bounds the decoded token. Never throws.
 */
export function parseAuthorization(value: string | undefined, maxTokenBytes: number): ParsedAuthorization {
  if (value === undefined) return { kind: 'none' };
  // Optional whitespace around the field value is not part of it (RFC 9110 §5.5).
  let start = 0;
  let end = value.length;
  while (start < end && isSpace(value[start])) start++;
  while (end > start && isSpace(value[end - 1])) end--;
  if (start === end) return { kind: 'none' };

  let sep = start;
  while (sep < end && !isSpace(value[sep])) sep++;
  const scheme = value.slice(start, Math.min(sep, start + kMaxSchemeChars + 1));
  if (scheme.toLowerCase() !== 'negotiate') {
    // Name a sane scheme back to the client; never echo arbitrary (possibly credential) text.
    const named = sep - start <= kMaxSchemeChars && kToken.test(scheme) ? scheme : undefined;
    return {
      kind: 'invalid',
      code: 'ERR_HTTP_UNSUPPORTED_SCHEME',
      message:
        named !== undefined
          ? `the Authorization scheme "${named}" is not supported: ` +
            'this server accepts only Negotiate (SPNEGO: Kerberos)'
          : 'the Authorization header does not start with a valid scheme name: this server accepts only Negotiate',
      ...(named !== undefined ? { scheme: named } : {}),
    };
  }

  let tokenStart = sep;
  while (tokenStart < end && isSpace(value[tokenStart])) tokenStart++;
  const chars = end - tokenStart;
  if (chars === 0) {
    return {
      kind: 'invalid',
      code: 'ERR_HTTP_BAD_AUTHORIZATION',
      message: 'the Negotiate Authorization header carries no token',
    };
  }
  const maxChars = base64Length(maxTokenBytes);
  if (chars > maxChars) {
    return {
      kind: 'invalid',
      code: 'ERR_HTTP_HEADER_TOO_LARGE',
      message:
        `the Negotiate token is ${chars} base64 characters; ` +
        `the limit is ${maxChars} (${maxTokenBytes} bytes decoded)`,
    };
  }
  const text = value.slice(tokenStart, end);
  const fast = decodeCanonical(text, maxTokenBytes);
  if (fast !== undefined) return { kind: 'negotiate', token: fast };
  const problem = base64Problem(text);
  if (problem !== undefined) {
    return {
      kind: 'invalid',
      code: 'ERR_HTTP_BAD_AUTHORIZATION',
      message: `the Negotiate token is not valid base64: ${problem}`,
    };
  }
  // The text bound above is coarse (4 characters per 3 bytes): a token up to 2 bytes over
  // maxTokenBytes has the same text length as one at the limit. Canonical base64 says its
  // exact decoded size, so refuse it before decoding.
  const decodedBytes = (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
  if (decodedBytes > maxTokenBytes) {
    return {
      kind: 'invalid',
      code: 'ERR_HTTP_HEADER_TOO_LARGE',
      message: `the Negotiate token is ${decodedBytes} bytes decoded; the limit is ${maxTokenBytes} bytes`,
    };
  }
  const token = Buffer.from(text, 'base64');
  if (token.length === 0) {
    return {
      kind: 'invalid',
      code: 'ERR_HTTP_BAD_AUTHORIZATION',
      message: 'the Negotiate token decodes to zero bytes',
    };
  }
  return { kind: 'negotiate', token };
}

/**
 * The decoded token when `text` is canonical padded base64 of 1 to `maxTokenBytes` bytes, else
 * undefined (the caller then says why, through base64Problem). The common case without the
 * regular expression, which costs ~4 µs on a 1.5 KB token: Node's decoder skips characters
 * outside its alphabet and stops at `=`, so any such character makes the decoded length fall
 * short of the length canonical text of this size has; its alphabet also takes base64url's
 * `-` and `_`, which are looked for separately. Verified against base64Problem on random
 * strings (test/unit/negotiateHeader.test.ts).
 */
function decodeCanonical(text: string, maxTokenBytes: number): Buffer | undefined {
  if (text.length % 4 !== 0 || text.includes('-') || text.includes('_')) return undefined;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const decodedBytes = (text.length / 4) * 3 - pad;
  if (decodedBytes > maxTokenBytes || decodedBytes === 0) return undefined;
  if (pad > 0 && (kAlphabet.indexOf(text[text.length - pad - 1] ?? '') & (pad === 2 ? 0x0f : 0x03)) !== 0)
    return undefined;
  const token = Buffer.from(text, 'base64');
  return token.length === decodedBytes ? token : undefined;
}

/** Why `text` is not canonical padded base64, or undefined if it is. */
export function base64Problem(text: string): string | undefined {
  if (!kBase64.test(text)) {
    return /\s/.test(text)
      ? 'whitespace inside the token'
      : 'characters outside A-Z a-z 0-9 + / =, or = before the end';
  }
  if (text.length % 4 !== 0) return `length ${text.length} is not a multiple of 4 (missing or extra = padding)`;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (pad > 0) {
    // The last data character carries 4 (==) or 2 (=) unused bits, which must be zero.
    const last = kAlphabet.indexOf(text[text.length - pad - 1] ?? '');
    const unusedMask = pad === 2 ? 0x0f : 0x03;
    if ((last & unusedMask) !== 0) return 'non-zero bits in the padding';
  }
  return undefined;
}

/**
 * The WWW-Authenticate value: `Negotiate` alone (a challenge, or "negotiation failed") or
 * `Negotiate <base64>` carrying the acceptor's output token. An empty token counts as none.
 */
export function formatWwwAuthenticate(token?: Uint8Array): string {
  if (token === undefined || token.length === 0) return 'Negotiate';
  return `Negotiate ${Buffer.from(token.buffer, token.byteOffset, token.byteLength).toString('base64')}`;
}
