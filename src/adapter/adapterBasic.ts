/**
 * Basic authentication on the adapter (option `basicAuth`): only on TLS sockets, where it is
 * offered after Negotiate in every 401 and a Basic credential is checked with the KDC on a
 * worker (src/basic/), then authorized like a handshake (adapterAuthorization.ts). On a plain
 * socket it is neither offered nor accepted: the password would have crossed in clear.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { BASIC_REFUSAL_BODIES, type BasicAuth } from '../basic/BasicAuth.js';
import { parseBasicAuthorization } from '../basic/basicHeader.js';
import { nextConnectionId } from '../connectionId.js';
import type { HandshakeAttempt } from '../handshake/index.js';
import { challengeHeaders } from '../http/negotiateRefusal.js';
import { authorizedOutcome, type AdapterAuthorization, type HeldOutcome } from './adapterAuthorization.js';
import type { OutcomeHeaders } from './types.js';

/** What a Basic login needs from its authenticator. */
export interface AdapterBasic extends AdapterAuthorization {
  basic: BasicAuth;
}

/** Basic is offered and accepted on this socket: it is TLS. */
export function basicAllowedOn(socket: Socket): boolean {
  return socket instanceof TLSSocket && socket.encrypted;
}

/** `headers` with Basic's challenge right after the first `WWW-Authenticate` (Negotiate's). */
export function withBasicChallenge(headers: OutcomeHeaders, basic: BasicAuth): OutcomeHeaders {
  const at = headers.findIndex(([name]) => name === 'WWW-Authenticate');
  if (at === -1) return headers;
  return [...headers.slice(0, at + 1), ['WWW-Authenticate', basic.challenge], ...headers.slice(at + 1)];
}

/**
 * The outcome of a request carrying `Authorization: Basic`. `attempt(id)`: the attempt with
 * connection id `id`, its latency measured when called.
 */
export async function basicOutcome(
  req: IncomingMessage,
  deps: AdapterBasic,
  attempt: (connectionId: number) => HandshakeAttempt,
): Promise<HeldOutcome> {
  const id = nextConnectionId();
  const remoteAddress = req.socket.remoteAddress;
  if (!basicAllowedOn(req.socket)) {
    const code = 'ERR_BASIC_BAD_CREDENTIAL';
    const reason = 'Basic credentials over plain HTTP are refused: the password crossed the network in clear';
    deps.reporter.refused(attempt(id), code, reason);
    return { kind: 'refused', status: 401, code, reason, headers: challengeHeaders(), body: `${reason}\n` };
  }
  const parsed = parseBasicAuthorization(req.headers.authorization ?? '');
  if (parsed.kind === 'invalid') {
    deps.reporter.refused(attempt(id), parsed.code, parsed.message);
    const headers: OutcomeHeaders = [['Content-Type', 'text/plain']];
    return {
      kind: 'refused',
      status: parsed.status,
      code: parsed.code,
      reason: parsed.message,
      headers,
      body: `${parsed.message}\n`,
    };
  }
  const outcome = await deps.basic.check(parsed.user, parsed.password, remoteAddress);
  if (!outcome.ok) {
    deps.reporter.refused(attempt(id), outcome.code, outcome.reason);
    const headers: OutcomeHeaders = outcome.status === 401 ? challengeHeaders() : [['Content-Type', 'text/plain']];
    if (outcome.retryAfterSeconds !== undefined) headers.push(['Retry-After', String(outcome.retryAfterSeconds)]);
    const { status, code, reason } = outcome;
    return { kind: 'refused', status, code, reason, headers, body: BASIC_REFUSAL_BODIES[status] };
  }
  return authorizedOutcome(outcome.identity, { via: 'basic', holder: id, remoteAddress }, () => attempt(id), deps);
}
