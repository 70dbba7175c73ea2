/**
 * `http.basicAuth` (`--basic-auth`, `--basic-auth-realm`): resolved and checked with the other
 * server options, and turned into a running BasicAuth at start. Refused without TLS: Basic
 * sends the password itself, readable by anyone on the path of plain HTTP.
 */
import { realmOf } from '../authorization/rules.js';
import { ConfigError } from '../errors.js';
import { loadNative } from '../native.js';
import { keytabFromEnv } from '../pool/credentials.js';
import type { LocalNames } from '../pool/localName.js';
import { BasicAuth } from './BasicAuth.js';
import { basicRealmProblem } from './basicHeader.js';
import { PasswordVerifier } from './PasswordVerifier.js';

/** `http.basicAuth`: `true`, or the realm its challenge names. */
export interface BasicAuthOptions {
  /** The realm in `WWW-Authenticate: Basic realm="..."`. Default: the service's Kerberos realm. */
  realm?: string;
}

/** Resolved: enabled, with the realm when the caller named one. */
export interface ResolvedBasicAuth {
  realm: string | undefined;
}

/** Why a server with Basic on and no TLS refuses to start. */
export const BASIC_AUTH_NEEDS_TLS =
  'http.basicAuth needs http.tls (--basic-auth needs --tls-cert and --tls-key): Basic sends the password itself';

/** Checks `http.basicAuth` (`value`); `tls`: the listener serves HTTPS. ConfigError ERR_CONFIG. */
export function resolveBasicAuth(value: unknown, tls: boolean): ResolvedBasicAuth | undefined {
  if (value === undefined || value === false) return undefined;
  let realm: string | undefined;
  if (value !== true) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new ConfigError('ERR_CONFIG', 'http.basicAuth must be true, false or { realm }');
    for (const key of Object.keys(value))
      if (key !== 'realm') throw new ConfigError('ERR_CONFIG', `http.basicAuth.${key} is not an option`);
    const r: unknown = Reflect.get(value, 'realm');
    if (r !== undefined) {
      if (typeof r !== 'string') throw new ConfigError('ERR_CONFIG', 'http.basicAuth.realm must be a string');
      const problem = basicRealmProblem(r);
      if (problem !== undefined) throw new ConfigError('ERR_CONFIG', `http.basicAuth.realm: ${problem}`);
      realm = r;
    }
  }
  if (!tls) throw new ConfigError('ERR_CONFIG', BASIC_AUTH_NEEDS_TLS);
  return { realm };
}

/** What starting Basic needs from the server's configuration. */
export interface BasicAuthStart {
  resolved: ResolvedBasicAuth;
  keytab: string | undefined;
  /** The HTTP front end's acceptor principal, if pinned: its key verifies the KDC's replies. */
  principal: string | undefined;
  /** The pool's local names (its mode, a rules file read). */
  localNames: LocalNames;
}

/** The realm a challenge names by default: the service principal's, else its keytab's first key's. */
function defaultRealm(keytab: string | undefined, principal: string | undefined): string {
  const fromPrincipal = principal === undefined ? undefined : realmOf(principal);
  if (fromPrincipal !== undefined) return fromPrincipal;
  const file = keytab ?? keytabFromEnv();
  if (file !== undefined) {
    const listing = loadNative().listKeytab(file);
    const first = listing.ok ? listing.principals[0] : undefined;
    const realm = first === undefined ? undefined : realmOf(first);
    if (realm !== undefined && basicRealmProblem(realm) === undefined) return realm;
  }
  return 'Kerberos';
}

/** Starts the password checks' worker thread; the caller closes the result. */
export function startBasicAuth(start: BasicAuthStart): BasicAuth {
  // Only a krb5 principal name (service/host@REALM) can pin the verifying key; a host-based
  // name (HTTP@host) is left to any key in the keytab.
  const server = start.principal !== undefined && start.principal.includes('/') ? start.principal : undefined;
  const verifier = new PasswordVerifier({ keytab: start.keytab, server });
  return new BasicAuth({
    realm: start.resolved.realm ?? defaultRealm(start.keytab, start.principal),
    verifier,
    localNames: start.localNames,
  });
}
