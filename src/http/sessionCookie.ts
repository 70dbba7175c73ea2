/**
 * Optional cookie sessions for the HTTP front end: a signed (HMAC-SHA256), expiring cookie
 * handed out after a successful handshake so that later requests skip it. Format, keys and
 * rotation, and why it is safe: docs/http.md, "Session cookies".
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { flagsFromBits, type ContextFlags } from '../native.js';
import type { Mechanism } from '../handshake/identity.js';

/** Smallest key accepted, in bytes. */
export const MIN_KEY_BYTES = 32;
/** Longest cookie value parsed, in characters; longer ones are ignored unread. */
export const MAX_COOKIE_CHARS = 4096;
/** Default cookie name. */
export const DEFAULT_COOKIE_NAME = 'negotiate_session';
/** Default lifetime in seconds. */
export const DEFAULT_TTL_SECONDS = 3600;

const kMacContext = 'negotiate-session.v1.';
const kMacBytes = 32;
/** Cookies issued this many seconds in the future still verify (clock steps between processes). */
const kIssuedAtSkewSeconds = 60;
const kBase64Url = /^[A-Za-z0-9_-]+$/;
const kCookieName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export interface SessionCookieOptions {
  /**
   * HMAC keys, each at least 32 bytes. The first signs, all verify (see the module comment on
   * rotation). Undefined or empty: one random key generated now (sessions end at restart).
   */
  keys?: Buffer[] | undefined;
  /** Cookie lifetime in seconds. Default 3600. */
  ttlSeconds?: number | undefined;
  /** Add the `Secure` attribute; set it when clients reach the server over TLS. Default false. */
  secure?: boolean | undefined;
  /** SameSite attribute. Default 'Lax'. */
  sameSite?: 'Lax' | 'Strict' | undefined;
  /** Cookie name. Default `negotiate_session`. */
  name?: string | undefined;
  /** Clock in ms since the epoch (tests inject one). Default Date.now. */
  now?: (() => number) | undefined;
}

/** The identity a session cookie carries. Times in ms since the epoch. */
export interface CookieSession {
  principal: string;
  mech: Mechanism;
  spnego: boolean;
  flags: ContextFlags;
  issuedAt: number;
  expiresAt: number;
}

/** What to put in a cookie. `notAfter` (ms since the epoch, e.g. the ticket's end) caps the expiry. */
export interface CookieIdentityInput {
  principal: string;
  mech: Mechanism;
  spnego: boolean;
  flags: ContextFlags;
  notAfter?: number | null | undefined;
}

export type CookieVerification = { ok: true; session: CookieSession } | { ok: false; reason: string };

/** Signs and verifies session cookies. One instance per server; immutable after construction. */
export class SessionCookies {
  readonly name: string;
  readonly ttlSeconds: number;
  readonly secure: boolean;
  readonly sameSite: 'Lax' | 'Strict';
  /** True when no key was configured and a random one was generated. */
  readonly generatedKey: boolean;
  readonly #keys: readonly Buffer[];
  readonly #now: () => number;

  constructor(options: SessionCookieOptions = {}) {
    const keys = options.keys ?? [];
    keys.forEach((k, i) => {
      if (!Buffer.isBuffer(k) || k.length < MIN_KEY_BYTES) {
        throw new ConfigError(
          'ERR_CONFIG',
          `session cookie key #${i + 1} is ${Buffer.isBuffer(k) ? `${k.length} bytes` : 'not a Buffer'}; ` +
            `keys must be at least ${MIN_KEY_BYTES} random bytes (e.g. openssl rand -base64 32)`,
        );
      }
    });
    this.generatedKey = keys.length === 0;
    // Copies: a caller zeroing or reusing its buffers must not change our keys.
    this.#keys = this.generatedKey ? [randomBytes(MIN_KEY_BYTES)] : keys.map((k) => Buffer.from(k));
    const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 1) {
      throw new ConfigError('ERR_CONFIG', `session cookie ttlSeconds must be a positive integer, got ${String(ttl)}`);
    }
    this.ttlSeconds = ttl;
    this.name = options.name ?? DEFAULT_COOKIE_NAME;
    if (!kCookieName.test(this.name)) {
      throw new ConfigError(
        'ERR_CONFIG',
        `session cookie name ${JSON.stringify(this.name)} is not a valid cookie name`,
      );
    }
    this.secure = options.secure ?? false;
    this.sameSite = options.sameSite ?? 'Lax';
    if (this.sameSite !== 'Lax' && this.sameSite !== 'Strict') {
      throw new ConfigError(
        'ERR_CONFIG',
        `session cookie sameSite must be 'Lax' or 'Strict', got ${String(this.sameSite)}`,
      );
    }
    this.#now = options.now ?? Date.now;
  }

  /**
   * Signs a cookie for `identity`, expiring after ttlSeconds (rounded up to the next whole
   * second) or at `notAfter`, whichever comes first. Returns the cookie value, its expiry (ms) and the Set-Cookie
   * header value.
   */
  issue(identity: CookieIdentityInput): { value: string; expiresAt: number; setCookie: string } {
    const nowMs = this.#now();
    const nowS = Math.floor(nowMs / 1000);
    // Rounded up: a cookie lives at least ttlSeconds (and at most one second more).
    const nextS = Math.ceil(nowMs / 1000);
    let exp = nextS + this.ttlSeconds;
    if (identity.notAfter !== undefined && identity.notAfter !== null)
      exp = Math.min(exp, Math.floor(identity.notAfter / 1000));
    const payload = Buffer.from(
      JSON.stringify({
        v: 1,
        p: identity.principal,
        m: identity.mech,
        s: identity.spnego,
        f: identity.flags.bits,
        iat: nowS,
        exp,
      }),
    ).toString('base64url');
    const value = `${payload}.${this.#mac(this.#keys[0] as Buffer, payload).toString('base64url')}`;
    return { value, expiresAt: exp * 1000, setCookie: this.setCookieHeader(value, Math.max(0, exp - nextS)) };
  }

  /** The Set-Cookie header value for `value`, living `maxAgeSeconds`. */
  setCookieHeader(value: string, maxAgeSeconds: number = this.ttlSeconds): string {
    let h = `${this.name}=${value}; Max-Age=${maxAgeSeconds}; Path=/; HttpOnly; SameSite=${this.sameSite}`;
    if (this.secure) h += '; Secure';
    return h;
  }

  /** A Set-Cookie header value that deletes the cookie. */
  clearCookieHeader(): string {
    return this.setCookieHeader('', 0);
  }

  /**
   * Finds this cookie in a Cookie request header (`''`/undefined: none) and verifies it.
   * `undefined` when the header has no cookie of this name. If the name appears more than
   * once (a path-scoped copy, or an injected one), the first that verifies wins.
   */
  fromCookieHeader(header: string | undefined): CookieVerification | undefined {
    if (header === undefined || header === '') return undefined;
    let first: CookieVerification | undefined;
    let tried = 0;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim() !== this.name) continue;
      const r = this.verify(part.slice(eq + 1).trim());
      if (r.ok) return r;
      first ??= r;
      // Bound the work an attacker can cause with many copies of the cookie.
      if (++tried >= 4) break;
    }
    return first;
  }

  /** Verifies one cookie value. Never throws. */
  verify(value: string): CookieVerification {
    if (value.length > MAX_COOKIE_CHARS)
      return { ok: false, reason: `cookie longer than ${MAX_COOKIE_CHARS} characters` };
    const dot = value.indexOf('.');
    if (dot <= 0 || dot !== value.lastIndexOf('.'))
      return { ok: false, reason: 'malformed cookie (expected payload.mac)' };
    const payload = value.slice(0, dot);
    const macText = value.slice(dot + 1);
    if (!kBase64Url.test(payload) || !kBase64Url.test(macText))
      return { ok: false, reason: 'malformed cookie (not base64url)' };
    const mac = Buffer.from(macText, 'base64url');
    // Canonical text only: the decoder ignores the last character's unused bits, which would
    // let one MAC be written several ways.
    if (mac.length !== kMacBytes || mac.toString('base64url') !== macText)
      return { ok: false, reason: 'malformed cookie (MAC encoding)' };
    // Check every key without stopping early, so timing does not tell which key matched.
    let matched = false;
    for (const key of this.#keys) {
      if (timingSafeEqual(this.#mac(key, payload), mac)) matched = true;
    }
    if (!matched) return { ok: false, reason: 'bad MAC (tampered, or signed with a key this server does not have)' };

    let data: unknown;
    try {
      data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed payload (not JSON)' };
    }
    const session = toSession(data);
    if (session === undefined) return { ok: false, reason: 'malformed payload (fields)' };
    const now = this.#now();
    if (now >= session.expiresAt) return { ok: false, reason: 'expired' };
    if (session.issuedAt > now + kIssuedAtSkewSeconds * 1000) return { ok: false, reason: 'issued in the future' };
    return { ok: true, session };
  }

  #mac(key: Buffer, payload: string): Buffer {
    return createHmac('sha256', key).update(kMacContext).update(payload).digest();
  }
}

function toSession(data: unknown): CookieSession | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  const { v, p, m, s, f, iat, exp } = d;
  if (v !== 1) return undefined;
  if (typeof p !== 'string' || p.length === 0) return undefined;
  if (m !== 'krb5' && m !== 'ntlmssp' && m !== 'unknown' && m !== 'basic') return undefined;
  if (typeof s !== 'boolean') return undefined;
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 0 || f > 0xffffffff) return undefined;
  if (typeof iat !== 'number' || !Number.isInteger(iat) || typeof exp !== 'number' || !Number.isInteger(exp))
    return undefined;
  return { principal: p, mech: m, spnego: s, flags: flagsFromBits(f), issuedAt: iat * 1000, expiresAt: exp * 1000 };
}
