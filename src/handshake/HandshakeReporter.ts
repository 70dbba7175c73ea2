/**
 * Reports how each handshake of one front end ended: the 'session' and 'handshakeFailed'
 * events, and the `authenticated` / `handshake failed` log lines with their level. One place,
 * so every front end's lines and events carry the same fields.
 */
import type { EventEmitter } from 'node:events';
import type { NegotiateErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ContextFlags } from '../native.js';
import { classify, describeFailure, gssStatusFields, type HandshakeFailure } from './failure.js';
import type { Frontend, ProvenIdentity } from './identity.js';

/** An authenticated client that authorization refused (the 'authorizationRefused' event). */
export interface AuthorizationRefusal<F extends Frontend = Frontend> {
  connectionId: number;
  frontend: F;
  principal: string;
  /** allow-realm, allow-principal, allow (either), require-group, or hook. */
  rule: string;
  reason: string;
  /** The HTTP status answered (WebSocket: a refusal closes 4403, a failed hook (500) 1011). */
  status: number;
  /** The hook threw or answered something unusable (an internal error, logged at error). */
  failed: boolean;
  remoteAddress: string | undefined;
}

/** One handshake, as the reporter names it. */
export interface HandshakeAttempt {
  /** The context-table key (HTTP: one per request's handshake). */
  readonly connectionId: number;
  /** Read when the connection arrived: a destroyed socket no longer knows its peer. */
  readonly remoteAddress: string | undefined;
  /** From the connection's accept (HTTP: the request's arrival), ms. */
  readonly latencyMs: number;
}

export class HandshakeReporter<F extends Frontend> {
  readonly frontend: F;
  readonly #events: EventEmitter;
  readonly #logger: Logger;

  /** Emits on `events` (the front end's acceptor) and logs to `logger`. */
  constructor(frontend: F, events: EventEmitter, logger: Logger) {
    this.frontend = frontend;
    this.#events = events;
    this.#logger = logger;
  }

  /** Logs `authenticated` and emits 'session' with `identity` (a Session, or an HTTP identity). */
  succeeded(
    attempt: HandshakeAttempt,
    identity: Pick<ProvenIdentity, 'principal' | 'mech' | 'spnego'> & {
      flags: Partial<Pick<ContextFlags, 'channelBound'>>;
    },
  ): void {
    // Two literals rather than a spread: this line is logged once per handshake.
    const fields =
      identity.flags.channelBound === true
        ? {
            connectionId: attempt.connectionId,
            frontend: this.frontend,
            remoteAddress: attempt.remoteAddress,
            principal: identity.principal,
            mech: identity.mech,
            spnego: identity.spnego,
            // Only over TLS with channel binding: the client's token names this server's certificate.
            channelBound: true,
            latencyMs: attempt.latencyMs,
          }
        : {
            connectionId: attempt.connectionId,
            frontend: this.frontend,
            remoteAddress: attempt.remoteAddress,
            principal: identity.principal,
            mech: identity.mech,
            spnego: identity.spnego,
            latencyMs: attempt.latencyMs,
          };
    this.#logger.info('authenticated', fields);
    this.#events.emit('session', identity);
  }

  /**
   * Logs `handshake failed` (with GSSAPI's status when `err` has one) and emits
   * 'handshakeFailed'. Overload (a `busy` failure) is logged at warn, the rest at info.
   */
  failed(attempt: HandshakeAttempt, err: unknown): HandshakeFailure<F> {
    const { code, message } = describeFailure(err);
    return this.#report(attempt, code, message, classify(err) === 'busy' ? 'warn' : 'info', gssStatusFields(err));
  }

  /** A handshake refused by the front end itself, with no error object (e.g. a malformed header). */
  refused(attempt: HandshakeAttempt, code: NegotiateErrorCode, message: string): HandshakeFailure<F> {
    return this.#report(attempt, code, message, 'info', {});
  }

  /**
   * Logs `authorization refused` (the rule, the principal, why) or, for a failed hook,
   * `authorization hook failed` at error; emits 'authorizationRefused'. No 'session' event:
   * the application never sees this client.
   */
  unauthorized(
    attempt: HandshakeAttempt,
    principal: string,
    decision: { rule: string; reason: string; status: number; failed: boolean },
  ): AuthorizationRefusal<F> {
    const refusal: AuthorizationRefusal<F> = {
      connectionId: attempt.connectionId,
      frontend: this.frontend,
      principal,
      rule: decision.rule,
      reason: decision.reason,
      status: decision.status,
      failed: decision.failed,
      remoteAddress: attempt.remoteAddress,
    };
    const { failed, ...fields } = refusal;
    if (failed) this.#logger.error('authorization hook failed', fields);
    else this.#logger.info('authorization refused', fields);
    this.#events.emit('authorizationRefused', refusal);
    return refusal;
  }

  /** A connection whose handshake had completed ended with `err`: logged only, no event. */
  endedWithError(attempt: HandshakeAttempt, err: unknown): void {
    this.#logger.info('connection ended with an error', { ...this.#failure(attempt, describeFailure(err)) });
  }

  #report(
    attempt: HandshakeAttempt,
    code: string,
    message: string,
    level: 'info' | 'warn',
    status: object,
  ): HandshakeFailure<F> {
    const failure = this.#failure(attempt, { code, message });
    this.#logger[level]('handshake failed', { ...failure, ...status });
    this.#events.emit('handshakeFailed', failure);
    return failure;
  }

  #failure(attempt: HandshakeAttempt, { code, message }: { code: string; message: string }): HandshakeFailure<F> {
    return {
      connectionId: attempt.connectionId,
      frontend: this.frontend,
      code,
      message,
      remoteAddress: attempt.remoteAddress,
      latencyMs: attempt.latencyMs,
    };
  }
}
