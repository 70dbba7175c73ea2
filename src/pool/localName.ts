/**
 * Local names: the operating-system user name an authenticated client maps to, as
 * mod_auth_gssapi's GssapiLocalName gives it. `gss` asks GSSAPI (gss_localname: MIT applies the
 * client realm's krb5.conf `auth_to_local` rules); `strip-realm` takes the principal without its
 * realm, only for a one-component principal of the realm of the service it authenticated to.
 */

/** How a client's local name is found; `off` (the default) computes none. */
export const LOCAL_NAME_MODES = ['off', 'gss', 'strip-realm'] as const;
export type LocalNameMode = (typeof LOCAL_NAME_MODES)[number];

export function isLocalNameMode(value: string): value is LocalNameMode {
  return (LOCAL_NAME_MODES as readonly string[]).includes(value);
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
}

/**
 * The local name under `mode`, or undefined when there is none: not asked for, no
 * `auth_to_local` rule maps the principal, or (strip-realm) a principal of another realm or
 * with more than one component (`host/x`: a local name must not carry a `/`).
 */
export function localNameOf(mode: LocalNameMode, r: LocalNameInputs): string | undefined {
  switch (mode) {
    case 'off':
      return undefined;
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
  }
}
