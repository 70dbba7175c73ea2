/**
 * The adapter's authorization step, after a completed handshake (or a checked Basic password)
 * and before the application sees the request: the rules and the hook (src/authorization/),
 * then the outcome: refused (403, or the hook's status, with the mutual token) or authenticated
 * with its identity and headers (the mutual token, the session cookie).
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
import type { AuthPool } from '../pool/AuthPool.js';
import type { AdapterIdentity, NegotiateOutcome, OutcomeHeaders } from './types.js';

/** An outcome as authenticate() builds it: an authenticated one names the holder of its delegated credential. */
export type RefusedOutcome = Extract<NegotiateOutcome, { kind: 'refused' }>;
export type HeldOutcome =
  | Exclude<NegotiateOutcome, { kind: 'authenticated' }>
  | (Extract<NegotiateOutcome, { kind: 'authenticated' }> & { holder: number });

/** What the step needs from its authenticator. */
export interface AdapterAuthorization {
  authorizer: Authorizer;
  reporter: HandshakeReporter<'adapter'>;
  cookies: SessionCookies | undefined;
  pool: AuthPool;
}

/**
 * Authorization (rules, then the hook), then the outcome. `holder`: the id holding the
 * client's delegated credential, if kept (released here on a refusal); `output`: the final
 * token; `attempt()`: the attempt, its latency measured when called.
 */
export async function authorizedOutcome(
  client: ProvenIdentity,
  how: { via: 'negotiate' | 'basic'; output?: Buffer; holder: number; remoteAddress: string | undefined },
  attempt: () => HandshakeAttempt,
  deps: AdapterAuthorization,
): Promise<HeldOutcome> {
  const proven = identityFromStep(client);
  const decision = deps.authorizer.empty
    ? undefined
    : await deps.authorizer.authorize(proven, { frontend: 'adapter', remoteAddress: how.remoteAddress });
  const at = attempt();
  const headers: OutcomeHeaders = [];
  // The final token (the AP-REP inside SPNEGO's accept-completed) goes with the answer, a
  // refusal included: the client verifies it to authenticate the server (mutual authentication).
  if (how.output !== undefined && how.output.length > 0)
    headers.push(['WWW-Authenticate', formatWwwAuthenticate(how.output)]);
  if (decision?.allowed === false) {
    if (proven.delegatedCcache !== undefined) void deps.pool.delegatedCredentials?.releaseHolder(how.holder);
    deps.reporter.unauthorized(at, proven.principal, decision);
    const { status, code, reason, body, headers: more } = refusalForAuthorization(decision);
    return { kind: 'refused', status, code, reason, headers: [...headers, ...more], body };
  }
  const identity: AdapterIdentity = {
    frontend: 'adapter',
    ...proven,
    ...(decision?.extra !== undefined ? { extra: decision.extra } : {}),
    remoteAddress: how.remoteAddress,
    via: how.via,
    latencyMs: at.latencyMs,
  };
  // Only an authorized client gets a cookie: a cookie stands in for the whole of this check.
  const setCookie = deps.cookies === undefined ? undefined : cookieAfterHandshake(deps.cookies, proven);
  if (setCookie !== undefined) headers.push(['Set-Cookie', setCookie]);
  deps.reporter.succeeded(at, identity);
  return { kind: 'authenticated', identity, headers, holder: how.holder };
}
