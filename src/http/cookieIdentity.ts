/**
 * A request's identity from its session cookie, when it carries no Authorization header (the
 * fresh credential wins: see HttpAcceptor and the adapter), and the cookie a completed handshake sets.
 * Shared by every HTTP front end.
 */
import { identityFromStep, type ProvenIdentity } from '../handshake/identity.js';
import type { Logger } from '../logger.js';
import type { SessionCookies } from './sessionCookie.js';

/**
 * `identity` when the cookie verifies; `invalid` when there was a cookie of ours that did not
 * (the client is then told to drop it). The cookie's expiry, not the ticket's, bounds the
 * identity: it lasts as long as the cookie. `frontend` only names the front end in the log.
 */
export function identityFromCookie(
  cookies: SessionCookies,
  cookieHeader: string | undefined,
  remoteAddress: string | undefined,
  logger: Logger,
  frontend: string,
): { identity?: ProvenIdentity; invalid: boolean } {
  const v = cookies.fromCookieHeader(cookieHeader);
  if (v === undefined) return { invalid: false };
  if (v.ok) return { identity: identityFromStep(v.session), invalid: false };
  // Never log the cookie itself: it is a bearer credential.
  logger.debug('session cookie ignored', { frontend, remoteAddress, reason: v.reason });
  return { invalid: true };
}

/**
 * The Set-Cookie value for a completed handshake (or a checked Basic password), or undefined
 * when the ticket has already expired.
 */
export function cookieAfterHandshake(
  cookies: SessionCookies,
  step: Pick<ProvenIdentity, 'principal' | 'mech' | 'spnego' | 'flags' | 'expiresAt'>,
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
