/**
 * What the HTTP front end builds from its options and reads off uWS responses, kept out of the
 * request path in HttpAcceptor.
 */
import type { HttpResponse } from 'uwebsockets';
import { ConfigError } from '../errors.js';
import { SessionCookies } from '../http/sessionCookie.js';
import type { Logger } from '../logger.js';
import type { HttpSessionCookieOptions } from './httpOptions.js';

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
): SessionCookies | undefined {
  if (options === undefined) return undefined;
  const { keys, ttlSeconds, secure, sameSite, name } = options;
  const cookies = new SessionCookies({ keys, ttlSeconds, secure, sameSite, name });
  if (cookies.generatedKey) {
    logger.info('HTTP session cookies signed with a key generated at start: sessions end when the server restarts', {
      frontend: 'http',
    });
  }
  return cookies;
}

/** The peer's address as uWS reports it, or undefined once the response is gone. */
export function remoteAddressOf(res: HttpResponse): string | undefined {
  try {
    const text = Buffer.from(res.getRemoteAddressAsText()).toString();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}
