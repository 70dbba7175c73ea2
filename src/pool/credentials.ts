/**
 * Acceptor credential options (the AcquireCredentialsHandle of this server) and the checks run
 * before any worker starts, so a bad keytab is one clear error at start.
 */
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, GssError, errnoCode, errorCodeOf } from '../errors.js';
import type { NativeAddon, NativeCredentialOptions } from '../native.js';
import { isRedisUrl } from '../replay/redisUrl.js';
import type { SharedReplayCacheOptions } from '../replay/sharedReplayOptions.js';
import { isLocalNameMode, LOCAL_NAME_MODES_TEXT, type LocalNameMode } from './localName.js';

/** GSS context flags a server can require of its clients, with their GSS bits. */
export const REQUIRABLE_FLAGS = {
  delegation: 1,
  mutual: 2,
  replay: 4,
  sequence: 8,
  confidentiality: 16,
  integrity: 32,
} as const;
export type RequiredFlag = keyof typeof REQUIRABLE_FLAGS;

export function isRequiredFlag(name: string): name is RequiredFlag {
  return Object.prototype.hasOwnProperty.call(REQUIRABLE_FLAGS, name);
}

/** The front ends that may pin an acceptor name of their own; `http` covers its WebSocket too. */
export const ACCEPTOR_SLOTS = ['sspi', 'gss-sample', 'http'] as const;
export type AcceptorSlot = (typeof ACCEPTOR_SLOTS)[number];

/**
 * The slot a front end accepts with: its own name; a WebSocket shares its HTTP listener's, and
 * the node:http adapter is HTTP too.
 */
export function acceptorSlotOf(frontend: AcceptorSlot | 'ws' | 'adapter'): AcceptorSlot {
  return frontend === 'ws' || frontend === 'adapter' ? 'http' : frontend;
}

/** The credential options of each front end with a principal of its own, by slot. */
export function slotCredentials(opts: CredentialOptions): Array<[AcceptorSlot, CredentialOptions]> {
  const out: Array<[AcceptorSlot, CredentialOptions]> = [];
  for (const slot of ACCEPTOR_SLOTS) {
    const principal = opts.frontendPrincipals?.[slot];
    if (principal !== undefined) out.push([slot, { ...opts, principal }]);
  }
  return out;
}

/** How replays of Kerberos authenticators are detected. */
export type ReplayCacheOption =
  'default' | 'none' | 'memory' | `file:${string}` | `redis://${string}` | `rediss://${string}`;

/**
 * Default most authenticator tags the in-memory cache holds: 10,000 handshakes/s for the
 * window (2 x the 300 s default clock skew) and the quarter window a tag may outlive it
 * (10,000 x 600 x 1.25 = 7.5 M), at 21-43 bytes a tag (docs/security.md).
 */
export const DEFAULT_REPLAY_CACHE_SIZE = 8_000_000;

export interface CredentialOptions {
  /** Keytab path. Default: the library default (KRB5_KTNAME, else /etc/krb5.keytab). */
  keytab?: string;
  /** Pin the acceptor to one principal ('HTTP/host@REALM' or 'HTTP@host'); default: any key in the keytab. */
  principal?: string;
  /**
   * A principal per front end, over `principal` for that front end: e.g. `{ http: 'HTTP/www@R',
   * sspi: 'host/www@R' }` accepts only HTTP/ tickets on HTTP (and its WebSocket) and only host/
   * tickets on sspi, as Apache's GssapiAcceptorName does per location. Default: none.
   */
  frontendPrincipals?: Partial<Record<AcceptorSlot, string>>;
  /** Also accept NTLM (raw and through SPNEGO). Off by default: NTLM is relayable. */
  ntlm?: boolean;
  /**
   * Replay cache: MIT's default file cache, `memory` (a process-wide in-memory cache of
   * authenticator tags instead of MIT's file: no file I/O per accept, but forgotten on restart),
   * none (replays accepted!), or a file of your choice.
   */
  replayCache?: ReplayCacheOption;
  /**
   * With a `redis://` or `rediss://` replayCache: key prefix, deadline, fallback, queue bound
   * (src/replay/sharedReplayOptions.ts; docs/operations.md, "Replay cache on Redis").
   */
  sharedReplayCache?: SharedReplayCacheOptions;
  /**
   * `memory` only: most tags held; a handshake that would exceed it is refused (ERR_REPLAY_CACHE_FULL). Default
   * 8,000,000.
   */
  replayCacheSize?: number;
  /**
   * `memory` only: most tags one client principal may hold, so that one account cannot fill the
   * cache and lock everyone out; beyond it that principal is refused (ERR_REPLAY_QUOTA).
   * Default: a quarter of replayCacheSize.
   */
  replayCachePrincipalQuota?: number;
  /**
   * `memory` only: a directory every remembered authenticator is also written to, and read back
   * from at start, so a restart forgets no replay (MIT's file cache survives one too). It must
   * exist, be owned by this process's user and not be writable by its group or others; one
   * process at a time uses it. Default: none (the memory cache is forgotten on restart).
   */
  replayCacheJournal?: string;
  /**
   * Context flags every client must have requested; a context completed without one of them
   * is refused (ERR_GSS_FLAGS_REQUIRED) and gets no AP-REP. Default: none. `mutual` refuses
   * browsers (they never ask for it); `replay` + `sequence` make unwrap refuse replayed,
   * skipped and reordered messages.
   */
  requireFlags?: readonly RequiredFlag[];
  /**
   * The local name given with each identity (`localName`): `gss` maps the principal with
   * gss_localname (MIT: krb5.conf `auth_to_local` rules of the client's realm), `strip-realm`
   * drops the realm of a one-component principal of the service's own realm, `rules:FILE` applies
   * a rules file of the server's own (src/identity/localNameRules.ts; read at start). A client no
   * rule maps has none. Default `off`.
   */
  localName?: LocalNameMode;
  /**
   * Keep clients' delegated (forwarded) Kerberos credentials as FILE ccaches in this directory,
   * one per principal, mode 0600, named on the identity (`delegatedCcache`). It must exist, be
   * owned by this process's user and not be writable by its group or others. Default: none
   * (a delegated credential is released as soon as the handshake completes).
   */
  delegationDir?: string;
  /** With `delegationDir`: most ccache files kept at once; beyond it new ones are dropped. Default 10,000. */
  delegationMaxFiles?: number;
  /**
   * Constrained delegation from the client's own ticket (mod_auth_gssapi's GssapiUseS4U2Proxy):
   * the credential is acquired for accept and initiate, the keytab also serving as client keytab
   * (the service's TGT goes to a private MEMORY ccache), so a client that forwarded no TGT leaves
   * a proxy credential, kept in `delegationDir` like a forwarded one (`delegation: 'constrained'`
   * on the identity; `flags.delegation` stays false). Needs `delegationDir`; not with `ntlm`.
   * Default false.
   */
  s4u2proxy?: boolean;
}

/** Maps our option names to MIT's cred-store values. */
export function toNativeCredentials(opts: CredentialOptions): NativeCredentialOptions {
  const out: NativeCredentialOptions = { ntlm: opts.ntlm === true };
  if (opts.keytab !== undefined) out.keytab = opts.keytab;
  if (opts.principal !== undefined) out.principal = opts.principal;
  if (opts.requireFlags !== undefined && opts.requireFlags.length > 0) {
    let bits = 0;
    for (const f of opts.requireFlags) {
      if (!isRequiredFlag(f))
        throw new ConfigError(
          'ERR_CONFIG',
          `unknown required flag ${JSON.stringify(f)}: expected ${Object.keys(REQUIRABLE_FLAGS).join(', ')}`,
        );
      bits |= REQUIRABLE_FLAGS[f];
    }
    out.requiredFlags = bits;
  }
  const localName = opts.localName ?? 'off';
  if (!isLocalNameMode(localName))
    throw new ConfigError(
      'ERR_CONFIG',
      `local name must be ${LOCAL_NAME_MODES_TEXT}, not ${JSON.stringify(localName)}`,
    );
  if (localName === 'gss') out.localName = true;
  if (localName === 'strip-realm') out.servicePrincipal = true;
  if (opts.delegationDir !== undefined) out.delegationDir = path.resolve(opts.delegationDir);
  if (opts.s4u2proxy === true) {
    // Nothing would hold the proxy credential, and gss-ntlmssp breaks with a cred store.
    if (opts.delegationDir === undefined)
      throw new ConfigError(
        'ERR_CONFIG',
        's4u2proxy needs a delegation directory (--delegation-dir DIR) to keep its credentials in',
      );
    if (opts.ntlm === true) throw new ConfigError('ERR_CONFIG', 's4u2proxy cannot be combined with NTLM (--ntlm)');
    out.s4u2proxy = true;
  }
  const rc = opts.replayCache ?? 'default';
  if (rc === 'none') out.replayCache = 'none:';
  else if (rc === 'memory') out.memoryReplayCache = true;
  else if (isRedisUrl(rc)) {
    out.sharedReplayTag = true;
    // The local cache checks every accept too, so an outage of Redis falls back on it.
    if (opts.sharedReplayCache?.fallback === 'memory') out.memoryReplayCache = true;
  } else if (rc.startsWith('file:')) out.replayCache = `file2:${rc.slice('file:'.length)}`;
  else if (rc !== 'default') {
    throw new ConfigError(
      'ERR_CONFIG',
      `replay cache must be default, memory, none, file:PATH or redis://HOST:PORT, not ${JSON.stringify(rc)}`,
    );
  }
  return out;
}

/**
 * Turns on the addon's process-wide in-memory replay cache when asked for; it must exist
 * before any credential asks for it (the addon refuses to accept unprotected otherwise).
 */
export function configureReplayCache(addon: NativeAddon, opts: CredentialOptions): void {
  // On Redis with the memory fallback, the in-memory cache checks every accept too.
  const fallback = isRedisUrl(opts.replayCache ?? '') && opts.sharedReplayCache?.fallback === 'memory';
  const local = opts.replayCache === 'memory' || fallback;
  if (!local) {
    if (opts.replayCacheJournal !== undefined)
      throw new ConfigError(
        'ERR_CONFIG',
        'a replay cache journal (--replay-cache-journal) needs the memory replay cache (--replay-cache memory)',
      );
    return;
  }
  const capacity = opts.replayCacheSize ?? DEFAULT_REPLAY_CACHE_SIZE;
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new ConfigError('ERR_CONFIG', `replay cache size must be a positive whole number, not ${capacity}`);
  }
  const quota = opts.replayCachePrincipalQuota;
  if (quota !== undefined && (!Number.isInteger(quota) || quota < 1)) {
    throw new ConfigError('ERR_CONFIG', `replay cache principal quota must be a positive whole number, not ${quota}`);
  }
  if (opts.replayCacheJournal !== undefined && opts.replayCacheJournal.trim() === '')
    throw new ConfigError('ERR_CONFIG', 'the replay cache journal must name a directory, not an empty string');
  const r = addon.configureReplayCache({
    capacity,
    ...(quota === undefined ? {} : { principalQuota: quota }),
    ...(opts.replayCacheJournal === undefined ? {} : { journal: path.resolve(opts.replayCacheJournal) }),
  });
  if (!r.ok) throw new ConfigError('ERR_CONFIG', `replay cache: ${r.message}`);
}

/** Fails with ERR_KEYTAB_UNREADABLE or the GSS error if the credential cannot be acquired. */
export async function checkCredentials(addon: NativeAddon, opts: CredentialOptions): Promise<void> {
  const keytab = opts.keytab ?? keytabFromEnv();
  if (keytab !== undefined) {
    try {
      await access(keytab, constants.R_OK);
    } catch (err) {
      throw new ConfigError(
        'ERR_KEYTAB_UNREADABLE',
        `keytab ${keytab} cannot be read (${errnoCode(err)}): ` +
          'check the path, and that the service user can read it (chmod 600, owned by that user)',
        { cause: err },
      );
    }
  }
  for (const variant of [opts, ...slotCredentials(opts).map(([, o]) => o)]) {
    if (keytab !== undefined) checkKeytabContents(addon, keytab, variant.principal);
    acquireOrThrow(addon, variant, keytab);
  }
}

/**
 * Acquires a credential on this thread (the addon keeps it for this thread), or throws the
 * GSS error naming `describedKeytab`.
 */
export function acquireOrThrow(addon: NativeAddon, opts: CredentialOptions, describedKeytab: string | undefined): void {
  const r = addon.acquireCredentials(toNativeCredentials(opts));
  if (!r.ok) {
    throw new GssError(
      errorCodeOf(r.code),
      `cannot acquire acceptor credentials${describedKeytab ? ` from ${describedKeytab}` : ''}` +
        `${opts.principal ? ` for ${opts.principal}` : ''}: ${r.message}`,
      r.major,
      r.minor,
    );
  }
}

/**
 * MIT acquires an acceptor credential from an empty keytab, or for a principal it has no key
 * for, without complaint; every handshake would then fail. Refuse at start instead, naming
 * what the keytab does hold.
 */
function checkKeytabContents(addon: NativeAddon, keytab: string, principal: string | undefined): void {
  const listing = addon.listKeytab(keytab);
  if (!listing.ok) {
    throw new ConfigError(
      'ERR_KEYTAB_UNREADABLE',
      `keytab ${keytab} cannot be read: ${listing.message} (is it a keytab? check it with: klist -k ${keytab})`,
    );
  }
  if (listing.principals.length === 0) {
    throw new ConfigError(
      'ERR_NO_CREDENTIALS',
      `keytab ${keytab} holds no keys: add the service's (kadmin: ktadd -k ${keytab} HTTP/host.example.com)`,
    );
  }
  // Host-based names (service@host) are canonicalised by the library (maybe through DNS), so
  // only krb5 principal names are checked here.
  if (principal === undefined || !principal.includes('/')) return;
  const wanted = principal.includes('@') ? principal : `${principal}@`;
  const found = listing.principals.some((p) => (principal.includes('@') ? p === wanted : p.startsWith(wanted)));
  if (!found) {
    throw new ConfigError(
      'ERR_NO_CREDENTIALS',
      `keytab ${keytab} has no key for ${principal}; it holds: ${listing.principals.join(', ')}`,
    );
  }
}

/** The keytab file named by KRB5_KTNAME, if it names a file. */
export function keytabFromEnv(): string | undefined {
  const v = process.env['KRB5_KTNAME'];
  if (!v) return undefined;
  if (v.startsWith('FILE:')) return v.slice(5);
  return v.includes(':') ? undefined : v;
}
