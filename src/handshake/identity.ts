/**
 * What a completed handshake proves about the client, whatever the front end: the one list of
 * identity fields that a Session, an HTTP identity and a session cookie all carry.
 */
import type { ContextFlags, DelegationKind, PacInfo } from '../native.js';

/**
 * The mechanism that authenticated the client (SSPI: the package, Kerberos or NTLM); `basic`:
 * a password over TLS, checked by a Kerberos AS exchange (src/basic/).
 */
export type Mechanism = 'krb5' | 'ntlmssp' | 'unknown' | 'basic';

/** The front end a handshake ran on; `sspi` is also the SSPI-style API (src/sspi.ts). */
export type Frontend = 'sspi' | 'gss-sample' | 'http' | 'ws' | 'adapter';

/** The proven identity (SSPI: QueryContextAttributes NAMES, NEGOTIATION_INFO, FLAGS, LIFESPAN). */
export interface ProvenIdentity {
  /** The authenticated client, e.g. `alice@EXAMPLE.COM` (Kerberos) or `DOMAIN\alice` (NTLM). */
  readonly principal: string;
  readonly mech: Mechanism;
  /** True when the client used SPNEGO (the Negotiate package). */
  readonly spnego: boolean;
  readonly flags: ContextFlags;
  /** When the context (or, for a cookie, the cookie) expires, ms since the epoch, or null. */
  readonly expiresAt: number | null;
  /**
   * Kerberos tickets from Active Directory: the verified PAC (user SID, group SIDs, logon name
   * and domain, UPN). Absent for NTLM, for MIT KDCs' tickets and for session cookies.
   */
  readonly pac?: PacInfo;
  /**
   * The client's local (operating-system) user name, when the server maps names
   * (credentials.localName) and this client has one. Absent for session cookies.
   */
  readonly localName?: string;
  /**
   * The FILE ccache holding the client's delegated Kerberos credential (its forwarded TGT),
   * when the server keeps them (credentials.delegationDir) and the client delegated: use it as
   * `KRB5CCNAME=FILE:<path>` to act as the client. The user's keys: see
   * docs/after-authentication.md. Absent for session cookies.
   */
  readonly delegatedCcache?: string;
  /**
   * What `delegatedCcache` holds: `forwarded`, the client's TGT (it delegated: `flags.delegation`);
   * `constrained`, with credentials.s4u2proxy, a proxy credential built from the client's ticket
   * to this service, which reaches only the targets the KDC lets this service delegate to.
   */
  readonly delegation?: DelegationKind;
  /**
   * Fields the application's authorize hook added (`{ extra }`, src/authorization/hook.ts).
   * Absent without a hook, and for session cookies.
   */
  readonly extra?: Record<string, unknown>;
}

/**
 * The identity fields of a completed accept step (or of a verified session cookie), copied out
 * so that nothing else of the step (its output token, its worker) travels with the identity.
 * A new identity field is added here and in ProvenIdentity.
 */
export function identityFromStep(step: ProvenIdentity): ProvenIdentity {
  const { principal, mech, spnego, flags, expiresAt, pac, localName, delegatedCcache, delegation, extra } = step;
  return {
    principal,
    mech,
    spnego,
    flags,
    expiresAt,
    ...(pac !== undefined ? { pac } : {}),
    ...(localName !== undefined ? { localName } : {}),
    ...(delegatedCcache !== undefined ? { delegatedCcache } : {}),
    ...(delegation !== undefined ? { delegation } : {}),
    ...(extra !== undefined ? { extra } : {}),
  };
}
