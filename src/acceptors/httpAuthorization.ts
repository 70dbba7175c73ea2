/**
 * The HTTP front end's authorization step, after a completed handshake and before the route's
 * handler: the rules and the hook (src/authorization/), the refusal (403, or the hook's status,
 * with the mutual token), or the request's identity with its session cookie.
 */
import type { Authorizer } from '../authorization/index.js';
import { formatWwwAuthenticate } from '../framing/negotiateHeader.js';
import {
  identityFromStep,
  type HandshakeAttempt,
  type HandshakeReporter,
  type ProvenIdentity,
} from '../handshake/index.js';
import { cookieAfterHandshake } from '../http/cookieIdentity.js';
import { refusalForAuthorization } from '../http/negotiateRefusal.js';
import type { SessionCookies } from '../http/sessionCookie.js';
import { sendRefusal } from './httpAnswers.js';
import type { Exchange } from './httpExchange.js';
import type { HttpIdentity } from './httpOptions.js';

/** What the step needs from its acceptor. */
export interface HttpAuthorization {
  authorizer: Authorizer;
  reporter: HandshakeReporter<'http'>;
  cookies: SessionCookies | undefined;
}

/** The attempt `ex` describes, its latency measured now. */
export function attemptOf(ex: Exchange): HandshakeAttempt {
  const latencyMs = Math.round(performance.now() - ex.started);
  return { connectionId: ex.connectionId, remoteAddress: ex.remoteAddress, latencyMs };
}

/**
 * Authorizes the client a handshake (or a Basic password, `via`) proved: undefined when
 * refused (the refusal is answered and reported), else its identity, reported as a success,
 * with the final token `output` and (cookie sessions) the Set-Cookie header added to the reply.
 */
export async function authorizeClient(
  ex: Exchange,
  client: ProvenIdentity,
  deps: HttpAuthorization,
  how: { via: 'negotiate' | 'basic'; output?: Buffer },
): Promise<HttpIdentity | undefined> {
  const proven = identityFromStep(client);
  const decision = deps.authorizer.empty
    ? undefined
    : await deps.authorizer.authorize(proven, { frontend: 'http', remoteAddress: ex.remoteAddress });
  const attempt = attemptOf(ex);
  // The final token (the AP-REP inside SPNEGO's accept-completed) goes with the answer, a
  // refusal included: the client verifies it to authenticate the server (mutual authentication).
  if (how.output !== undefined && how.output.length > 0)
    ex.reply.authHeaders.push(['WWW-Authenticate', formatWwwAuthenticate(how.output)]);
  if (decision?.allowed === false) {
    deps.reporter.unauthorized(attempt, proven.principal, decision);
    sendRefusal(ex, refusalForAuthorization(decision), undefined);
    return undefined;
  }
  const identity: HttpIdentity = {
    frontend: 'http',
    ...proven,
    ...(decision?.extra !== undefined ? { extra: decision.extra } : {}),
    remoteAddress: ex.remoteAddress,
    via: how.via,
    latencyMs: attempt.latencyMs,
  };
  // Only an authorized client gets a cookie: a cookie stands in for the whole of this check.
  const setCookie = deps.cookies === undefined ? undefined : cookieAfterHandshake(deps.cookies, proven);
  if (setCookie !== undefined) ex.reply.authHeaders.push(['Set-Cookie', setCookie]);
  deps.reporter.succeeded(attempt, identity);
  return identity;
}
