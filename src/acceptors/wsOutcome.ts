/**
 * What a WebSocket handshake ends in, as the peer and the application see it: the one text
 * message announcing a completed handshake, and the failure event of this front end.
 */
import type { HandshakeFailure, Mechanism } from '../handshake/index.js';
import type { ContextFlags, PacInfo } from '../native.js';
import type { AcceptStep } from '../pool/AuthPool.js';

/** The one text message the server sends when the handshake completed. */
export interface WsAuthenticatedMessage {
  type: 'authenticated';
  principal: string;
  mech: Mechanism;
  spnego: boolean;
  flags: ContextFlags;
  /** When the context expires (ms since the epoch), or null. */
  expiresAt: number | null;
  /** The verified Windows PAC of an AD ticket, when there is one (see PacInfo). */
  pac?: PacInfo;
  /** The client's local user name (credentials.localName), when it has one. */
  localName?: string;
  /** What the authorize hook added, when it did. */
  extra?: Record<string, unknown>;
}

/** A failed WebSocket handshake (the HandshakeFailure of this front end). */
export type WsHandshakeFailure = HandshakeFailure<'ws'>;

/** The announcement of the completed handshake `step`; `extra` from the authorize hook. */
export function authenticatedMessage(
  step: Extract<AcceptStep, { status: 'complete' }>,
  extra?: Record<string, unknown>,
): WsAuthenticatedMessage {
  return {
    type: 'authenticated',
    principal: step.principal,
    mech: step.mech,
    spnego: step.spnego,
    flags: step.flags,
    expiresAt: step.expiresAt,
    ...(step.pac !== undefined ? { pac: step.pac } : {}),
    ...(step.localName !== undefined ? { localName: step.localName } : {}),
    ...(extra !== undefined ? { extra } : {}),
  };
}
