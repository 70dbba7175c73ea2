/**
 * The WebSocket front end's answer when authorization (src/authorization/: the rules, then the
 * hook) refuses a client whose handshake completed: the final token for mutual
 * authentication, then a 4403 close (1011 for a failed hook).
 */
import type { AuthorizationDecision } from '../authorization/index.js';
import type { HandshakeReporter } from '../handshake/index.js';
import type { AcceptStep, AuthPool } from '../pool/AuthPool.js';
import { WS_CLOSE } from './wsClose.js';
import { attemptOf, endPromptly, type Conn } from './wsConnection.js';

/** Authorization refused: the final token (mutual authentication), then a close; the context goes. */
export function refuseSocket(
  conn: Conn,
  step: Extract<AcceptStep, { status: 'complete' }>,
  decision: Extract<AuthorizationDecision, { allowed: false }>,
  reporter: HandshakeReporter<'ws'>,
  pool: AuthPool,
): void {
  clearTimeout(conn.deadline);
  conn.slot?.release();
  // Not a failed handshake: reported as a refusal, and the close handler must not report it again.
  conn.failed = true;
  reporter.unauthorized(attemptOf(conn), step.principal, decision);
  pool.release(conn.id);
  const ws = conn.ws;
  if (!ws) return;
  if (step.output.length > 0) ws.cork(() => ws.send(step.output, true));
  if (decision.failed) endPromptly(ws, WS_CLOSE.INTERNAL_ERROR, 'internal error');
  else endPromptly(ws, WS_CLOSE.FORBIDDEN, 'forbidden');
}
