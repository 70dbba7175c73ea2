/**
 * One Basic login on the HTTP front end (TLS only: the acceptor refuses to start otherwise): the
 * password checked with the KDC on a worker (src/basic/), its refusals answered (401 with both
 * challenges, 429 when the user or address failed too often, 503 when the KDC or the workers
 * are away), then the same authorization, cookie, log line and handler as a Negotiate handshake.
 */
import { BASIC_REFUSAL_BODIES, type BasicAuth } from '../basic/BasicAuth.js';
import { isBasicScheme, parseBasicAuthorization, type ParsedBasic } from '../basic/basicHeader.js';
import type { HandshakeReporter } from '../handshake/index.js';
import { challengeHeaders } from '../http/negotiateRefusal.js';
import { attemptOf, authorizeClient } from './httpAuthorization.js';
import type { Exchange } from './httpExchange.js';
import type { HttpNegotiation } from './httpNegotiateStep.js';
import type { HttpIdentity } from './httpOptions.js';

/** What a Basic login needs from its acceptor. */
export type BasicDeps = HttpNegotiation & { basic: BasicAuth };

/**
 * With Basic on, in the route's synchronous top: names Basic's challenge in every 401 of `ex`
 * and reads a Basic credential. Undefined when the request carries another scheme (or none);
 * `invalid` once a malformed one was answered (400, or 431 when too large) and reported.
 */
export function readBasic(
  ex: Exchange,
  basic: BasicDeps,
  reporter: HandshakeReporter<'http'>,
): ParsedBasic | undefined {
  ex.reply.extraChallenge = basic.basic.challenge;
  if (!isBasicScheme(ex.authorization)) return undefined;
  const parsed = parseBasicAuthorization(ex.authorization ?? '');
  if (parsed.kind === 'invalid') {
    reporter.refused(attemptOf(ex), parsed.code, parsed.message);
    ex.reply.end(`${parsed.message}\n`, { status: parsed.status, headers: { 'Content-Type': 'text/plain' } });
  }
  return parsed;
}

/**
 * Checks `user`'s `password` (zeroed once checked) for `ex` and, when right and authorized,
 * runs `handle` with the identity. Every refusal is answered and reported here; `clearCookie`:
 * a Set-Cookie value dropping a cookie we refused.
 */
export async function basicRequest(
  ex: Exchange,
  credential: { user: string; password: Buffer },
  clearCookie: string | undefined,
  deps: BasicDeps,
  handle: (identity: HttpIdentity) => Promise<void>,
): Promise<void> {
  const outcome = await deps.basic.check(credential.user, credential.password, ex.remoteAddress);
  if (!outcome.ok) {
    deps.reporter.refused(attemptOf(ex), outcome.code, outcome.reason);
    const headers: Record<string, string> =
      outcome.status === 401 ? Object.fromEntries(challengeHeaders()) : { 'Content-Type': 'text/plain' };
    if (outcome.retryAfterSeconds !== undefined) headers['Retry-After'] = String(outcome.retryAfterSeconds);
    if (clearCookie !== undefined && outcome.status === 401) headers['Set-Cookie'] = clearCookie;
    ex.reply.end(BASIC_REFUSAL_BODIES[outcome.status], { status: outcome.status, headers });
    return;
  }
  if (ex.reply.finished) {
    deps.logger.debug('request ended during the password check', {
      frontend: 'http',
      remoteAddress: ex.remoteAddress,
      principal: outcome.identity.principal,
      aborted: ex.reply.aborted,
    });
    return;
  }
  const identity = await authorizeClient(ex, outcome.identity, deps, { via: 'basic' });
  if (identity !== undefined) await handle(identity);
}
