/**
 * The RFC 7617 Basic credential, pure and bounded:
 *
 *   Authorization: Basic <base64(user-id ":" password)>
 *
 * The scheme name is case-insensitive; the base64 is strict (as for Negotiate: canonical,
 * padded, no whitespace inside), its length checked before decoding. The user-id ends at the
 * first colon (RFC 7617 §2: a user-id cannot contain one); both parts are UTF-8. Refused: an
 * empty user-id, control characters in it (NUL above all: the KDC takes C strings), a NUL in
 * the password (it would silently cut the password short). Messages never quote either part.
 */
import { base64Length, base64Problem } from '../framing/negotiateHeader.js';

/** Longest user-id accepted, bytes (a principal name with its realm). */
export const MAX_BASIC_USER_BYTES = 256;
/** Longest password accepted, bytes. */
export const MAX_BASIC_PASSWORD_BYTES = 1024;
/** Longest decoded credential: user-id, colon, password. */
const kMaxCredentialBytes = MAX_BASIC_USER_BYTES + 1 + MAX_BASIC_PASSWORD_BYTES;

export type ParsedBasic =
  /** `password` is a fresh Buffer of its own: the caller zeroes it once used. */
  | { kind: 'basic'; user: string; password: Buffer }
  /** 431 when too large, 400 when malformed; `message` is safe to log and to send. */
  | {
      kind: 'invalid';
      code: 'ERR_BASIC_BAD_CREDENTIAL' | 'ERR_HTTP_HEADER_TOO_LARGE';
      status: 400 | 431;
      message: string;
    };

const kScheme = /^[ \t]*basic(?:[ \t]|$)/i;
// C0 controls and DEL: never in a user name.
// eslint-disable-next-line no-control-regex
const kControl = /[\u0000-\u001f\u007f]/;
const kUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether an Authorization header value uses the Basic scheme. */
export function isBasicScheme(value: string | undefined): boolean {
  return value !== undefined && kScheme.test(value);
}

function invalid(message: string): ParsedBasic {
  return { kind: 'invalid', code: 'ERR_BASIC_BAD_CREDENTIAL', status: 400, message };
}

/** Parses a header value for which isBasicScheme() is true. Never throws. */
export function parseBasicAuthorization(value: string): ParsedBasic {
  const text = value.trim().slice('basic'.length).trim();
  if (text.length === 0) return invalid('the Basic Authorization header carries no credentials');
  const maxChars = base64Length(kMaxCredentialBytes);
  if (text.length > maxChars) {
    return {
      kind: 'invalid',
      code: 'ERR_HTTP_HEADER_TOO_LARGE',
      status: 431,
      message: `the Basic credentials are ${text.length} base64 characters; the limit is ${maxChars}`,
    };
  }
  const problem = base64Problem(text);
  if (problem !== undefined) return invalid(`the Basic credentials are not valid base64: ${problem}`);
  const decoded = Buffer.from(text, 'base64');
  try {
    const colon = decoded.indexOf(0x3a);
    if (colon === -1) return invalid('the Basic credentials have no colon between user and password');
    if (colon === 0) return invalid('the Basic credentials have an empty user name');
    if (colon > MAX_BASIC_USER_BYTES) return invalid(`the user name is longer than ${MAX_BASIC_USER_BYTES} bytes`);
    if (decoded.length - colon - 1 > MAX_BASIC_PASSWORD_BYTES)
      return invalid(`the password is longer than ${MAX_BASIC_PASSWORD_BYTES} bytes`);
    let user: string;
    try {
      user = kUtf8.decode(decoded.subarray(0, colon));
    } catch {
      return invalid('the user name is not UTF-8');
    }
    if (kControl.test(user)) return invalid('the user name contains control characters');
    const secret = decoded.subarray(colon + 1);
    if (secret.includes(0)) return invalid('the password contains a NUL byte');
    // A copy of its own (Buffer.alloc: never a slice of node's shared pool), zeroed by the caller.
    const password = Buffer.alloc(secret.length);
    secret.copy(password);
    return { kind: 'basic', user, password };
  } finally {
    decoded.fill(0);
  }
}

/** The WWW-Authenticate value of the Basic challenge for `realm` (checked by checkBasicRealm). */
export function basicChallenge(realm: string): string {
  return `Basic realm="${realm}", charset="UTF-8"`;
}

/** Why `realm` cannot be a quoted realm parameter, or undefined when it can. */
export function basicRealmProblem(realm: string): string | undefined {
  if (realm.length === 0) return 'it is empty';
  if (realm.length > 128) return 'it is longer than 128 characters';
  // Printable ASCII without the quote and the backslash: no escaping needed, nothing to inject.
  if (!/^[\x20-\x7e]+$/.test(realm) || /["\\]/.test(realm)) return 'it must be printable ASCII without " or \\';
  return undefined;
}
