/**
 * Basic authentication as a fallback for clients that cannot do Kerberos, over TLS only
 * (docs/http.md): the policy every HTTP front end shares. A credential is refused without a KDC
 * exchange when its user or address has failed too often (FailureLimiter), else checked on a
 * worker (PasswordVerifier); a right password proves the same identity a Negotiate handshake
 * would, with mech `basic` and no flags. The password is never logged or kept: its Buffer is
 * zeroed once checked.
 */
import { ConfigError, PoolError, errorCodeOf, type NegotiateErrorCode } from '../errors.js';
import type { ProvenIdentity } from '../handshake/identity.js';
import { flagsFromBits } from '../native.js';
import { localNameOf, type LocalNameMode, type LocalNames } from '../pool/localName.js';
import { basicChallenge, basicRealmProblem } from './basicHeader.js';
import { FailureLimiter } from './FailureLimiter.js';
import type { PasswordVerifier } from './PasswordVerifier.js';

export interface BasicAuthOptions {
  /** The realm the challenge names (`Basic realm="..."`): printable ASCII without `"` or `\`. */
  realm: string;
  verifier: PasswordVerifier;
  /** Default: a FailureLimiter with its defaults (5 per user, 20 per address, per minute). */
  limiter?: FailureLimiter | undefined;
  /** Local names as for Negotiate (credentials.localName). Default 'off'. */
  localName?: LocalNameMode | undefined;
  /**
   * The pool's local names (AuthPool.localNames), its rules file read: wins over `localName`,
   * and the only way to a `rules:FILE` mode's names.
   */
  localNames?: LocalNames | undefined;
}

/** The outcome of one Basic credential. */
export type BasicOutcome =
  | { ok: true; identity: ProvenIdentity }
  | {
      ok: false;
      /** 401 wrong credentials, 429 too many failures, 503 KDC or workers unavailable. */
      status: 401 | 429 | 503;
      code: NegotiateErrorCode;
      /** Safe to log: names the user, never the password. */
      reason: string;
      /** 429 and 503: seconds to wait. */
      retryAfterSeconds?: number;
    };

const NO_FLAGS = flagsFromBits(0);

/** Why an HTTP front end with Basic refuses to start on plain HTTP. */
export const BASIC_NEEDS_TLS =
  'Basic authentication sends the password itself: it is served over TLS only (configure a certificate)';

/**
 * The bodies of a refused Basic login, on every HTTP front end. One 401 for every wrong
 * credential (an unknown user, a wrong or expired password): which one it was is in the log,
 * not told to a guesser.
 */
export const BASIC_REFUSAL_BODIES = {
  401: 'Basic authentication failed: wrong user name or password\n',
  429: 'Too many failed logins; retry later\n',
  503: 'The server cannot check passwords right now; retry shortly\n',
} as const;

export class BasicAuth {
  readonly realm: string;
  /** The WWW-Authenticate value sent after Negotiate's on every 401. */
  readonly challenge: string;
  readonly limiter: FailureLimiter;
  readonly verifier: PasswordVerifier;
  readonly #localName: LocalNameMode;
  readonly #localNames: LocalNames | undefined;

  /** ConfigError ERR_CONFIG for a realm that cannot be sent as is. */
  constructor(options: BasicAuthOptions) {
    const problem = basicRealmProblem(options.realm);
    if (problem !== undefined) throw new ConfigError('ERR_CONFIG', `basic auth realm "${options.realm}": ${problem}`);
    this.realm = options.realm;
    this.challenge = basicChallenge(options.realm);
    this.verifier = options.verifier;
    this.limiter = options.limiter ?? new FailureLimiter();
    this.#localName = options.localName ?? 'off';
    this.#localNames = options.localNames;
  }

  /** Checks `user`'s `password` (zeroed before this resolves) from `remoteAddress`. Never rejects. */
  async check(user: string, password: Buffer, remoteAddress: string | undefined): Promise<BasicOutcome> {
    const waitMs = this.limiter.retryAfterMs(user, remoteAddress);
    if (waitMs > 0 || password.length === 0) {
      password.fill(0);
      if (waitMs > 0) {
        return {
          ok: false,
          status: 429,
          code: 'ERR_BASIC_RATE_LIMITED',
          reason: `too many failed Basic logins for "${user}" or from this address: refused without asking the KDC`,
          retryAfterSeconds: Math.ceil(waitMs / 1000),
        };
      }
      this.limiter.failed(user, remoteAddress);
      return { ok: false, status: 401, code: 'ERR_BASIC_BAD_PASSWORD', reason: `an empty password for "${user}"` };
    }
    let r;
    try {
      r = await this.verifier.check(user, password);
    } catch (err) {
      const code: NegotiateErrorCode = err instanceof PoolError ? err.code : 'ERR_POOL_WORKER_DIED';
      const reason = `the password check could not run: ${err instanceof Error ? err.message : String(err)}`;
      return { ok: false, status: 503, code, reason, retryAfterSeconds: 1 };
    }
    if (!r.ok) {
      const code = errorCodeOf(r.code);
      // The KDC being away is not the client's failure: no count against it.
      if (code === 'ERR_BASIC_KDC_UNREACHABLE')
        return { ok: false, status: 503, code, reason: r.message, retryAfterSeconds: 5 };
      this.limiter.failed(user, remoteAddress);
      return { ok: false, status: 401, code, reason: `Basic login for "${user}" refused: ${r.message}` };
    }
    this.limiter.succeeded(user);
    const inputs = {
      principal: r.principal,
      ...(r.localName !== undefined ? { localName: r.localName } : {}),
      ...(r.defaultRealm !== undefined ? { servicePrincipal: `service@${r.defaultRealm}` } : {}),
    };
    const localName =
      this.#localNames !== undefined ? this.#localNames.of(inputs).name : localNameOf(this.#localName, inputs);
    const identity: ProvenIdentity = {
      principal: r.principal,
      mech: 'basic',
      spnego: false,
      flags: NO_FLAGS,
      expiresAt: r.endTime > 0 ? r.endTime * 1000 : null,
      ...(localName !== undefined ? { localName } : {}),
    };
    return { ok: true, identity };
  }

  /** Stops the worker threads. */
  close(): Promise<void> {
    return this.verifier.close();
  }
}
