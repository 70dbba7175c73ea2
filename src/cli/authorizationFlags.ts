/**
 * `serve`'s "After authentication" section (serveFlags.ts holds the table; flagTable.ts what a
 * row holds): local names, kept delegated credentials, and the authorization rules
 * (docs/after-authentication.md). Values are checked where the options are resolved
 * (options.ts, src/authorization/rules.ts), so the CLI and the library refuse the same things.
 */
import { ConfigError } from '../errors.js';
import type { AuthorizationRules } from '../authorization/index.js';
import { isLocalNameMode, LOCAL_NAME_MODES_TEXT } from '../pool/localName.js';
import type { FlagSection, ServeInvocation } from './flagTable.js';

/** Adds `value` to the list `key` of the invocation's authorization rules. */
function addRule(into: ServeInvocation, key: 'allowRealms' | 'allowPrincipals' | 'requireGroups', value: string): void {
  const rules: AuthorizationRules = into.options.authorization ?? {};
  into.options.authorization = { ...rules, [key]: [...(rules[key] ?? []), value] };
}

export const AUTHORIZATION_FLAGS: FlagSection = {
  title: 'After authentication (docs/after-authentication.md)',
  rows: [
    {
      name: 'local-name',
      type: 'string',
      placeholder: 'MODE',
      default: 'off',
      help:
        "off | gss | strip-realm | rules:FILE: the client's local user name, as `localName` in /whoami, " +
        "WebSocket and events. gss: krb5.conf's auth_to_local rules (gss_localname); strip-realm: the name " +
        "without its realm, only for principals of the service's own realm; rules:FILE: `PATTERN -> NAME` lines " +
        '(docs/after-authentication.md).',
      apply: (into, v) => {
        if (!isLocalNameMode(v))
          throw new ConfigError(
            'ERR_CONFIG',
            `--local-name must be ${LOCAL_NAME_MODES_TEXT}, not ${JSON.stringify(v)}`,
          );
        into.options.credentials.localName = v;
      },
    },
    {
      name: 'delegation-dir',
      type: 'string',
      placeholder: 'DIR',
      default: 'none kept',
      help:
        "Keep clients' delegated Kerberos credentials here, one FILE ccache per principal (mode 0600), " +
        'removed when the connection (HTTP: the response) ends, when they expire and at shutdown. DIR must exist, ' +
        'be owned by the server and not writable by others.',
      apply: (into, v) => void (into.options.credentials.delegationDir = v),
    },
    {
      name: 's4u2proxy',
      type: 'boolean',
      default: 'off',
      help:
        "Constrained delegation from the client's own ticket (GssapiUseS4U2Proxy): the keytab also gets the " +
        "service's TGT, and a client that forwarded no TGT leaves an S4U2Proxy credential in --delegation-dir " +
        '(required), good for the targets the KDC lets this service delegate to. Not with --ntlm.',
      apply: (into) => void (into.options.credentials.s4u2proxy = true),
    },
    {
      name: 'allow-realm',
      type: 'string',
      placeholder: 'REALM',
      repeatable: true,
      default: 'every realm',
      help:
        'Let in only clients of this realm (repeatable). With --allow-principal too, a client matching either ' +
        'is let in. Others: HTTP 403 (with the mutual token), WebSocket close 4403, TCP close.',
      apply: (into, v) => addRule(into, 'allowRealms', v),
    },
    {
      name: 'allow-principal',
      type: 'string',
      placeholder: 'NAME',
      repeatable: true,
      default: 'every principal',
      help: 'Let in only this principal (user@REALM; DOMAIN\\user for NTLM) (repeatable).',
      apply: (into, v) => addRule(into, 'allowPrincipals', v),
    },
    {
      name: 'allow-principals-file',
      type: 'string',
      placeholder: 'FILE',
      default: 'none',
      help:
        'More allowed principals, one per line (# comments, blank lines); read at start, a bad line refuses ' +
        'the start with its line number.',
      apply: (into, v) => {
        into.options.authorization = { ...into.options.authorization, allowPrincipalsFile: v };
      },
    },
    {
      name: 'require-group',
      type: 'string',
      placeholder: 'SID',
      repeatable: true,
      default: 'none',
      help:
        "Let in only members of this group, by SID (S-1-5-21-...), from the ticket's verified PAC (Active " +
        'Directory); with several, membership of any one. Clients without a PAC (MIT KDCs, NTLM) are refused. ' +
        'Group names are not accepted: they need a directory lookup this server does not make.',
      apply: (into, v) => addRule(into, 'requireGroups', v),
    },
  ],
};
