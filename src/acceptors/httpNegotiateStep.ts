/**
 * One Negotiate handshake on the HTTP front end: the accept step on the pool (single leg: see
 * HttpAcceptor's module comment), its failure answers (401, 503), then authorization
 * (httpAuthorization.ts) and the route's handler, with the delegated credential (if kept) alive
 * until the handler settles.
 */
import type { Logger } from '../logger.js';
import type { AcceptStep, AuthPool } from '../pool/AuthPool.js';
import { acceptorSlotOf } from '../pool/credentials.js';
import { refusalForAcceptError } from '../http/negotiateRefusal.js';
import { answerChallenge, sendRefusal } from './httpAnswers.js';
import { attemptOf, authorizeClient, type HttpAuthorization } from './httpAuthorization.js';
import type { Exchange } from './httpExchange.js';
import { MULTI_LEG_REFUSAL, type HttpIdentity } from './httpOptions.js';
import type { ChannelAcceptOptions } from './httpTls.js';

/** What a handshake needs from its acceptor. */
export interface HttpNegotiation extends HttpAuthorization {
  pool: AuthPool;
  channel: ChannelAcceptOptions;
  logger: Logger;
}

/**
 * Runs the handshake of `token` for `ex` and, when it proves an authorized client, `handle`
 * with its identity. Every refusal is answered here; `invalidCookie`: the request also carried
 * a cookie we refused, which a 401 tells the client to drop. Rejects only for a bug (500).
 */
export async function negotiateRequest(
  ex: Exchange,
  token: Buffer,
  invalidCookie: boolean,
  deps: HttpNegotiation,
  handle: (identity: HttpIdentity) => Promise<void>,
): Promise<void> {
  const clearCookie = invalidCookie ? deps.cookies?.clearCookieHeader() : undefined;
  // One context per handshake, freed as soon as the leg returns: HTTP contexts are never
  // kept, because no later request can be tied to this connection (see HttpAcceptor).
  const id = ex.connectionId;
  let step: AcceptStep;
  try {
    step = await deps.pool.accept(id, token, { releaseAfter: true, slot: acceptorSlotOf('http'), ...deps.channel });
  } catch (err) {
    // A failed accept freed its own context and a refused task created none, but a task that
    // timed out may be stopped before the worker's releaseAfter runs: free it here (a
    // context still checked out is freed when the native call returns).
    deps.pool.release(id);
    acceptFailed(ex, err, clearCookie, deps);
    return;
  }

  if (step.status === 'continue') {
    deps.reporter.refused(
      attemptOf(ex),
      'ERR_HTTP_MULTI_LEG_UNSUPPORTED',
      'the mechanism needs another leg (NTLM), which this HTTP front end cannot bind to the connection',
    );
    answerChallenge(ex, 401, MULTI_LEG_REFUSAL, clearCookie);
    return;
  }
  // A delegated credential kept for this request (credentials.delegationDir) lives until the
  // handler's promise settles: the hook and the handler may use it, nothing after them.
  try {
    if (ex.reply.finished) {
      // Gone, or already refused (its body over a bound) while the handshake ran.
      deps.logger.debug('request ended during the handshake', {
        frontend: 'http',
        remoteAddress: ex.remoteAddress,
        principal: step.principal,
        aborted: ex.reply.aborted,
      });
      return;
    }
    const identity = await authorizeClient(ex, step, deps, { via: 'negotiate', output: step.output });
    if (identity !== undefined) await handle(identity);
  } finally {
    if (step.delegatedCcache !== undefined) void deps.pool.delegatedCredentials?.releaseHolder(id);
  }
}

/** A failed accept: the shared answer (src/http/negotiateRefusal.ts), 401 or 503. */
function acceptFailed(ex: Exchange, err: unknown, clearCookie: string | undefined, deps: HttpNegotiation): void {
  const refusal = refusalForAcceptError(err);
  if (refusal === undefined) throw err;
  deps.reporter.failed(attemptOf(ex), err);
  // Busy leaves a refused cookie alone: the client may retry with it.
  const sent = sendRefusal(ex, refusal, refusal.busy ? undefined : clearCookie);
  if (!sent && refusal.busy)
    deps.logger.debug('client went away before the 503', { frontend: 'http', remoteAddress: ex.remoteAddress });
}
