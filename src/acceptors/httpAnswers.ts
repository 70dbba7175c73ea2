/**
 * The HTTP front end's answers that are not a handler's: challenges, refusals, 500. Each takes
 * the exchange and writes through its Reply (corked, ignored once the client is gone).
 */
import { formatWwwAuthenticate } from '../framing/negotiateHeader.js';
import { whoamiJson } from '../http/whoami.js';
import { BUSY_BODY, type HttpRefusal } from '../http/negotiateRefusal.js';
import type { Logger } from '../logger.js';
import type { BodyRefusal } from './httpBody.js';
import type { HttpRequest, HttpResponse } from 'uwebsockets';
import { readExchange, type Exchange } from './httpExchange.js';
import { refusedForFraming } from './httpFraming.js';
import type { HttpIdentity } from './httpOptions.js';
import type { HttpReply } from './HttpReply.js';

/**
 * Answers `status` with a bare `WWW-Authenticate: Negotiate` challenge and a text body;
 * `clearCookie`: a Set-Cookie value that drops a cookie we refused (useless to the client).
 */
export function answerChallenge(ex: Exchange, status: number, body: string, clearCookie: string | undefined): void {
  const headers: Record<string, string> = {
    'WWW-Authenticate': formatWwwAuthenticate(),
    'Content-Type': 'text/plain',
  };
  if (clearCookie !== undefined) headers['Set-Cookie'] = clearCookie;
  ex.reply.end(body, { status, headers });
}

/**
 * Sends `refusal` as the whole response; false when the client had gone. `clearCookie`: a
 * Set-Cookie value that drops a cookie we refused (useless to the client).
 */
export function sendRefusal(ex: Exchange, refusal: HttpRefusal, clearCookie: string | undefined): boolean {
  const headers: Record<string, string> = Object.fromEntries(refusal.headers);
  if (clearCookie !== undefined) headers['Set-Cookie'] = clearCookie;
  return ex.reply.end(refusal.body, { status: refusal.status, headers });
}

/** 503 with `Retry-After: 1`; `closeConnection` when the request's body was left unread. */
export function answerBusy(ex: Exchange, logger: Logger, closeConnection = false): void {
  const sent = ex.reply.end(BUSY_BODY, {
    status: 503,
    headers: { 'Retry-After': '1', 'Content-Type': 'text/plain' },
    closeConnection,
  });
  if (!sent) logger.debug('client went away before the 503', { frontend: 'http', remoteAddress: ex.remoteAddress });
}

/**
 * The body was refused while being read (src/acceptors/httpBody.ts): 413 when larger than
 * the route takes, 503 when the budget of bytes held for running handshakes is spent. The
 * connection closes: the rest of the body is not read.
 */
export function answerBodyRefused(
  ex: Exchange,
  why: BodyRefusal,
  limits: { maxBodyBytes: number; maxBodyBytesBeforeAuth: number },
  logger: Logger,
): void {
  const { remoteAddress } = ex;
  if (why === 'overBudget') {
    logger.warn('request refused: too many body bytes held for handshakes in progress', {
      frontend: 'http',
      remoteAddress,
      maxBodyBytesBeforeAuth: limits.maxBodyBytesBeforeAuth,
    });
    answerBusy(ex, logger, true);
    return;
  }
  const { maxBodyBytes } = limits;
  logger.info('request refused: body too large', {
    frontend: 'http',
    remoteAddress,
    url: ex.request.url,
    maxBodyBytes,
  });
  ex.reply.end(`Request body larger than ${maxBodyBytes} bytes\n`, {
    status: 413,
    headers: { 'Content-Type': 'text/plain' },
    closeConnection: true,
  });
}

/** 500, logged with the error's message (never its stack or the request's credentials). */
export function answerInternalError(ex: Exchange, err: unknown, logger: Logger): void {
  logger.error('request failed', {
    frontend: 'http',
    remoteAddress: ex.remoteAddress,
    url: ex.request.url,
    message: err instanceof Error ? err.message : String(err),
  });
  ex.reply.end('Internal server error\n', { status: 500, headers: { 'Content-Type': 'text/plain' } });
}

/**
 * A request no protected route takes (404 unknown path, 405 other method): the framing check
 * first (docs/http.md, request framing), then a short text answer, headers only to HEAD.
 */
export function answerUnrouted(
  res: HttpResponse,
  req: HttpRequest,
  logger: Logger,
  answer: { status: number; body: string; headers?: Record<string, string> },
): void {
  const ex = readExchange(res, req, 0, false);
  if (refusedForFraming(ex.reply, ex.framing, ex.remoteAddress, logger)) return;
  ex.reply.end(answer.body, { status: answer.status, headers: { 'Content-Type': 'text/plain', ...answer.headers } });
}

/**
 * `GET /whoami` (and HEAD): the proven identity as JSON; `localName`, `pac` and the authorize
 * hook's `extra` when the identity has them (never the delegated ccache's path).
 */
export function answerWhoami(identity: HttpIdentity, res: HttpReply): void {
  res.end(whoamiJson(identity), { headers: JSON_HEADERS });
}

/** What HttpReply.json sends with its body. */
const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
});
