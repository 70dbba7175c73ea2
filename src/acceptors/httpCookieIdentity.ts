/**
 * A request's identity from its session cookie, when it carries no Authorization header (the
 * fresh credential wins: see HttpAcceptor), and the cookie a completed handshake sets.
 */
import { identityFromStep } from '../handshake/index.js';
import type { SessionCookies } from '../http/sessionCookie.js';
import type { Logger } from '../logger.js';
import type { AcceptStep } from '../pool/AuthPool.js';
import type { HttpIdentity } from './httpOptions.js';

/**
 * `identity` when the cookie verifies; `invalid` when there was a cookie of ours that did not
 * (the client is then told to drop it). The cookie's expiry, not the ticket's, bounds the
 * identity: it lasts as long as the cookie.
 */
export function identityFromCookie(
  cookies: SessionCookies,
  cookieHeader: string,
  remoteAddress: string | undefined,
  logger: Logger,
): { identity?: HttpIdentity; invalid: boolean } {
  const v = cookies.fromCookieHeader(cookieHeader);
  if (v === undefined) return { invalid: false };
  if (v.ok) {
    return {
      identity: { frontend: 'http', ...identityFromStep(v.session), remoteAddress, via: 'cookie' },
      invalid: false,
    };
  }
  // Never log the cookie itself: it is a bearer credential.
  logger.debug('session cookie ignored', { frontend: 'http', remoteAddress, reason: v.reason });
  return { invalid: true };
}

/** The Set-Cookie value for a completed handshake, or undefined when the ticket has already expired. */
export function cookieAfterHandshake(
  cookies: SessionCookies,
  step: AcceptStep & { status: 'complete' },
): string | undefined {
  const c = cookies.issue({
    principal: step.principal,
    mech: step.mech,
    spnego: step.spnego,
    flags: step.flags,
    notAfter: step.expiresAt,
  });
  return c.expiresAt > Date.now() ? c.setCookie : undefined;
}
