/**
 * What an RFC 4559 front end (the uWS HTTP acceptor, the node:http adapter) builds from its
 * options before serving: its whole-number limits and its session-cookie signer.
 */
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { SessionCookies } from './sessionCookie.js';

/** Cookie-session settings of an HTTP front end (see src/http/sessionCookie.ts). */
export interface HttpSessionCookieOptions {
  /** HMAC keys (≥ 32 bytes each); the first signs, all verify. Default: one random key per start. */
  keys?: Buffer[] | undefined;
  /** Cookie lifetime, seconds; never beyond the Kerberos ticket's end. Default 3600. */
  ttlSeconds?: number | undefined;
  /** Mark the cookie `Secure` (set it when clients connect over TLS). Default false. */
  secure?: boolean | undefined;
  /** Default 'Lax'. */
  sameSite?: 'Lax' | 'Strict' | undefined;
  /** Default `negotiate_session`. */
  name?: string | undefined;
}

/** `value`, or `fallback` when undefined; ERR_CONFIG unless a positive whole number. */
export function positiveWhole(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) {
    throw new ConfigError('ERR_CONFIG', `${name} must be a positive integer, got ${String(value)}`);
  }
  return v;
}

/** The cookie signer for `options`, or undefined for no cookie sessions. */
export function sessionCookiesFrom(
  options: HttpSessionCookieOptions | undefined,
  logger: Logger,
  frontend: string,
): SessionCookies | undefined {
  if (options === undefined) return undefined;
  const { keys, ttlSeconds, secure, sameSite, name } = options;
  const cookies = new SessionCookies({ keys, ttlSeconds, secure, sameSite, name });
  if (cookies.generatedKey) {
    logger.info('HTTP session cookies signed with a key generated at start: sessions end when the server restarts', {
      frontend,
    });
  }
  return cookies;
}
