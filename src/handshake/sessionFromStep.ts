/**
 * The one place a Session is built from a completed accept step, for every front end that
 * keeps its context (sspi, gss-sample, WebSocket, the SSPI-style API).
 */
import type { AuthPool } from '../pool/AuthPool.js';
import { Session } from '../session.js';
import { identityFromStep, type Frontend, type ProvenIdentity } from './identity.js';

/** Where the handshake ran: the connection facts a Session carries beside the identity. */
export interface HandshakeConnection {
  /** The context-table key, unique in this process. */
  readonly connectionId: number;
  readonly frontend: Frontend;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** From the connection's accept to the context's completion, ms; undefined when unknown. */
  readonly latencyMs?: number | undefined;
}

/**
 * The Session for `connection`'s completed `step`; its protection calls run on `pool`. `extra`:
 * what the authorize hook added (src/authorization/).
 */
export function sessionFromStep(
  pool: AuthPool,
  step: ProvenIdentity,
  connection: HandshakeConnection,
  extra?: Record<string, unknown>,
): Session {
  return new Session(pool, {
    connectionId: connection.connectionId,
    frontend: connection.frontend,
    ...identityFromStep(step),
    ...(extra !== undefined ? { extra } : {}),
    remoteAddress: connection.remoteAddress,
    remotePort: connection.remotePort,
    latencyMs: connection.latencyMs,
  });
}
