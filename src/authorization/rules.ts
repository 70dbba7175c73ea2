/**
 * The operator's authorization rules (--allow-realm, --allow-principal, --allow-principals-file,
 * --require-group): validated once into an AuthorizationPolicy, then checked against each
 * authenticated identity. Pure: no I/O after start, no logging (the front end logs the refusal).
 */
import { ConfigError } from '../errors.js';
import type { ProvenIdentity } from '../handshake/identity.js';
import type { PacInfo } from '../native.js';
import { splitPrincipal } from '../pool/localName.js';
import { checkPrincipalName, readPrincipalsFile } from './principalsFile.js';

/** The rules as configured (NegotiateServerOptions.authorization, NegotiateAuthenticatorOptions.authorization). */
export interface AuthorizationRules {
  /**
   * Let in clients of these realms (`alice@CORP.EXAMPLE` is of `CORP.EXAMPLE`; exact,
   * case-sensitive). With `allowPrincipals` too, a client matching either is let in.
   */
  allowRealms?: readonly string[] | undefined;
  /** Let in these principals (exact, case-sensitive: `alice@CORP.EXAMPLE`, `CORP\alice` for NTLM). */
  allowPrincipals?: readonly string[] | undefined;
  /** More principals, one per line (`#` comments, blank lines); read once at start. */
  allowPrincipalsFile?: string | undefined;
  /**
   * Let in only members of at least one of these groups, by SID (`S-1-5-21-…-1105`), from the
   * ticket's verified PAC (Active Directory): a client without one is refused. Names are not
   * accepted: mapping a name to a SID needs a directory lookup this server does not make.
   */
  requireGroups?: readonly string[] | undefined;
}

/** The rule that refused a client (`hook`: the application's authorize hook). */
export type AuthorizationRule = 'allow-realm' | 'allow-principal' | 'allow' | 'require-group' | 'hook';

/** A refusal by a rule: the rule and why, for the log line. */
export interface RuleRefusal {
  rule: AuthorizationRule;
  reason: string;
}

/** The rules, validated: what each identity is checked against. */
export interface AuthorizationPolicy {
  readonly allowRealms: ReadonlySet<string>;
  readonly allowPrincipals: ReadonlySet<string>;
  readonly requireGroups: ReadonlySet<string>;
}

/** No rule: everyone authenticated is let in. */
export const NO_RULES: AuthorizationPolicy = {
  allowRealms: new Set(),
  allowPrincipals: new Set(),
  requireGroups: new Set(),
};

const REALM = /^[^\s@\\\p{Cc}]+$/u;
const SID = /^S-1-\d+(?:-\d+)+$/;

/** Validates `rules` (and reads the principals file): ConfigError ERR_CONFIG naming the bad entry. */
export function compileRules(rules: AuthorizationRules | undefined, where = 'authorization'): AuthorizationPolicy {
  if (rules === undefined) return NO_RULES;
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules))
    throw new ConfigError('ERR_CONFIG', `${where} must be an object, not ${JSON.stringify(rules)}`);
  const known = new Set(['allowRealms', 'allowPrincipals', 'allowPrincipalsFile', 'requireGroups']);
  for (const key of Object.keys(rules)) {
    if (!known.has(key))
      throw new ConfigError('ERR_CONFIG', `unknown option ${where}.${key}; expected one of ${[...known].join(', ')}`);
  }
  const realms = list(`${where}.allowRealms`, rules.allowRealms).map((r) => {
    if (!REALM.test(r))
      throw new ConfigError('ERR_CONFIG', `${where}.allowRealms: ${JSON.stringify(r)} is not a realm`);
    return r;
  });
  const principals = list(`${where}.allowPrincipals`, rules.allowPrincipals).map((p) =>
    checkPrincipalName(p, `${where}.allowPrincipals`),
  );
  if (rules.allowPrincipalsFile !== undefined) {
    if (typeof rules.allowPrincipalsFile !== 'string' || rules.allowPrincipalsFile === '')
      throw new ConfigError('ERR_CONFIG', `${where}.allowPrincipalsFile must be a file name`);
    principals.push(...readPrincipalsFile(rules.allowPrincipalsFile));
  }
  const groups = list(`${where}.requireGroups`, rules.requireGroups).map((g) => {
    if (!SID.test(g)) {
      throw new ConfigError(
        'ERR_CONFIG',
        `${where}.requireGroups: ${JSON.stringify(g)} is not a SID (S-1-5-21-…); group names are not accepted, ` +
          'as mapping one to its SID needs a directory lookup this server does not make',
      );
    }
    return g;
  });
  return { allowRealms: new Set(realms), allowPrincipals: new Set(principals), requireGroups: new Set(groups) };
}

/** True when `policy` has no rule at all. */
export function hasNoRules(policy: AuthorizationPolicy): boolean {
  return policy.allowRealms.size === 0 && policy.allowPrincipals.size === 0 && policy.requireGroups.size === 0;
}

/** The realm of a Kerberos principal (after its last unescaped `@`), or undefined (NTLM names have none). */
export function realmOf(principal: string): string | undefined {
  return splitPrincipal(principal).realm;
}

/** Every group SID of a verified PAC: primary, domain, extra and resource groups. */
export function groupSidsOf(pac: PacInfo): Set<string> {
  return new Set([pac.primaryGroupSid, ...pac.groupSids, ...pac.extraSids, ...pac.resourceGroupSids]);
}

/** Checks `identity` against `policy`: undefined when let in, else the rule that refused it and why. */
export function checkRules(
  policy: AuthorizationPolicy,
  identity: Pick<ProvenIdentity, 'principal' | 'pac'>,
): RuleRefusal | undefined {
  const byRealm = policy.allowRealms.size > 0;
  const byName = policy.allowPrincipals.size > 0;
  if (byRealm || byName) {
    const realm = realmOf(identity.principal);
    const allowed =
      (byName && policy.allowPrincipals.has(identity.principal)) ||
      (byRealm && realm !== undefined && policy.allowRealms.has(realm));
    if (!allowed) {
      const rule: AuthorizationRule = byRealm && byName ? 'allow' : byRealm ? 'allow-realm' : 'allow-principal';
      const reason =
        rule === 'allow-realm'
          ? `realm ${realm ?? '(none)'} is not allowed`
          : rule === 'allow-principal'
            ? 'principal is not allowed'
            : `neither the principal nor its realm ${realm ?? '(none)'} is allowed`;
      return { rule, reason };
    }
  }
  if (policy.requireGroups.size > 0) {
    if (identity.pac === undefined)
      return { rule: 'require-group', reason: 'no verified PAC (not an Active Directory Kerberos ticket)' };
    const groups = groupSidsOf(identity.pac);
    if (![...policy.requireGroups].some((g) => groups.has(g)))
      return { rule: 'require-group', reason: 'not a member of any required group' };
  }
  return undefined;
}

function list(where: string, value: readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  if (!isArray(value) || value.some((v) => typeof v !== 'string'))
    throw new ConfigError('ERR_CONFIG', `${where} must be an array of strings`);
  return [...value];
}

/** Array.isArray that keeps the declared element type (it would narrow to `any[]`), for JavaScript callers. */
function isArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}
