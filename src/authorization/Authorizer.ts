/**
 * One front end's (or a whole server's) authorization: the operator's rules, then the
 * application's hook, checked right after a completed handshake and before any application
 * code. Every front end calls authorize() and maps a refusal to its transport (HTTP status,
 * WebSocket close code, TCP close); the handshake core reports it (HandshakeReporter).
 */
import type { Frontend, ProvenIdentity } from '../handshake/identity.js';
import { readHookResult, type AuthorizeHook } from './hook.js';
import { checkRules, compileRules, hasNoRules, type AuthorizationPolicy, type AuthorizationRules } from './rules.js';
import type { AuthorizationRule } from './rules.js';

/** The outcome of authorizing one identity. */
export type AuthorizationDecision =
  | { allowed: true; extra?: Record<string, unknown> }
  | {
      allowed: false;
      /** What HTTP answers: 403 for the rules and `false`, the hook's own status, 500 for a failed hook. */
      status: number;
      rule: AuthorizationRule;
      reason: string;
      /** The hook threw or answered something unusable: an internal failure, not a refusal. */
      failed: boolean;
    };

export interface AuthorizerOptions {
  rules?: AuthorizationRules | undefined;
  authorize?: AuthorizeHook | undefined;
}

const ALLOWED: AuthorizationDecision = { allowed: true };

export class Authorizer {
  readonly policy: AuthorizationPolicy;
  readonly #hook: AuthorizeHook | undefined;

  /** Validates the rules (reads the principals file): ConfigError ERR_CONFIG. */
  constructor(options: AuthorizerOptions = {}, where = 'authorization') {
    this.policy = compileRules(options.rules, where);
    if (options.authorize !== undefined && typeof options.authorize !== 'function')
      throw new TypeError('authorize must be a function of the identity');
    this.#hook = options.authorize;
  }

  /** Nothing to check: every authenticated client is let in as it is. */
  get empty(): boolean {
    return this.#hook === undefined && hasNoRules(this.policy);
  }

  /** The rules, then the hook (awaited). Never rejects: a failing hook is a decision with `failed`. */
  async authorize(
    identity: ProvenIdentity,
    where: { frontend: Frontend; remoteAddress: string | undefined },
  ): Promise<AuthorizationDecision> {
    const refused = checkRules(this.policy, identity);
    if (refused !== undefined) return { allowed: false, status: 403, ...refused, failed: false };
    if (this.#hook === undefined) return ALLOWED;
    let result: unknown;
    try {
      result = await this.#hook({ ...identity, frontend: where.frontend, remoteAddress: where.remoteAddress });
    } catch (err) {
      const reason = `the authorize hook threw: ${err instanceof Error ? err.message : String(err)}`;
      return { allowed: false, status: 500, rule: 'hook', reason, failed: true };
    }
    const verdict = readHookResult(result);
    switch (verdict.kind) {
      case 'allow':
        return verdict.extra === undefined ? ALLOWED : { allowed: true, extra: verdict.extra };
      case 'refuse':
        return { allowed: false, status: verdict.status, rule: 'hook', reason: verdict.reason, failed: false };
      case 'invalid':
        return { allowed: false, status: 500, rule: 'hook', reason: verdict.message, failed: true };
    }
  }
}

/** The Authorizer that lets everyone in: for front ends built without one. */
export const ALLOW_ALL = new Authorizer();
