/**
 * Local names: the operating-system user name an authenticated client maps to, as
 * mod_auth_gssapi's GssapiLocalName gives it. `gss` asks GSSAPI (gss_localname: MIT applies the
 * client realm's krb5.conf `auth_to_local` rules); `strip-realm` takes the principal without its
 * realm, only for a one-component principal of the realm of the service it authenticated to;
 * `rules:FILE` applies a rules file of the server's own (src/identity/localNameRules.ts).
 */
import { LocalNameRules } from '../identity/localNameRules.js';

/** How a client's local name is found; `off` (the default) computes none. */
export type LocalNameMode = 'off' | 'gss' | 'strip-realm' | `rules:${string}`;

const RULES_PREFIX = 'rules:';

export function isLocalNameMode(value: string): value is LocalNameMode {
  if (value.startsWith(RULES_PREFIX)) return value.length > RULES_PREFIX.length;
  return value === 'off' || value === 'gss' || value === 'strip-realm';
}

/** The modes, for error messages: `off, gss, strip-realm or rules:FILE`. */
export const LOCAL_NAME_MODES_TEXT = 'off, gss, strip-realm or rules:FILE';

/** What a mode gave a principal: a name, or why none (for the `debug` line `no local name`). */
export type LocalNameResult = { name: string } | { name: undefined; reason?: string };

/**
 * The local-name mode of a pool, with its rules file read (at start: a bad file refuses the
 * start). `of()` runs on the main thread for each completed handshake.
 */
export class LocalNames {
  readonly mode: LocalNameMode;
  readonly #rules: LocalNameRules | undefined;

  private constructor(mode: LocalNameMode, rules: LocalNameRules | undefined) {
    this.mode = mode;
    this.#rules = rules;
  }

  /** Reads the rules file of a `rules:FILE` mode; ConfigError (ERR_CONFIG) when it is not one. */
  static async load(mode: LocalNameMode): Promise<LocalNames> {
    if (!mode.startsWith(RULES_PREFIX)) return new LocalNames(mode, undefined);
    return new LocalNames(mode, await LocalNameRules.read(mode.slice(RULES_PREFIX.length)));
  }

  /** The local name of a completed accept under this mode. */
  of(r: LocalNameInputs): LocalNameResult {
    if (this.#rules !== undefined) return this.#rules.map(r.principal);
    const name = localNameOf(this.mode, r);
    if (name !== undefined) return { name };
    return r.localNameRefused !== undefined ? { name: undefined, reason: r.localNameRefused } : { name: undefined };
  }
}

/**
 * A Kerberos principal's display form split at its realm separator: the last `@` that is not
 * escaped by a backslash (MIT displays `\@`, `\/` and `\\` inside components). `realm` is
 * undefined when there is none (an NTLM `DOMAIN\user`).
 */
export function splitPrincipal(principal: string): { name: string; realm: string | undefined; components: number } {
  let at = -1;
  let components = 1;
  for (let i = 0; i < principal.length; i++) {
    const c = principal[i];
    if (c === '\\') i++;
    else if (c === '@') at = i;
    else if (c === '/' && at === -1) components++;
  }
  if (at === -1) return { name: principal, realm: undefined, components };
  return { name: principal.slice(0, at), realm: principal.slice(at + 1), components };
}

/** What a completed accept reported that the local name is computed from. */
export interface LocalNameInputs {
  principal: string;
  /** gss_localname's answer (mode `gss`). */
  localName?: string;
  /** The acceptor principal (mode `strip-realm`). */
  servicePrincipal?: string;
  /** Why gss_localname gave none (mode `gss`). */
  localNameRefused?: string;
}

/**
 * The local name under `mode`, or undefined when there is none: not asked for, no
 * `auth_to_local` rule maps the principal, or (strip-realm) a principal of another realm or
 * with more than one component (`host/x`: a local name must not carry a `/`). A `rules:FILE`
 * mode needs its file read: LocalNames.
 */
export function localNameOf(mode: LocalNameMode, r: LocalNameInputs): string | undefined {
  switch (mode) {
    case 'gss':
      return r.localName;
    case 'strip-realm': {
      if (r.servicePrincipal === undefined) return undefined;
      const client = splitPrincipal(r.principal);
      const service = splitPrincipal(r.servicePrincipal);
      if (client.realm === undefined || client.realm !== service.realm) return undefined;
      if (client.components !== 1 || client.name.length === 0) return undefined;
      return client.name;
    }
    default:
      return undefined;
  }
}
