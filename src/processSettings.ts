/**
 * Every environment variable the server writes in its own process, and the one function that
 * writes them. They are process-wide by nature: MIT krb5 and gss-ntlmssp read them on every
 * thread, so every pool and library in the process sees the same values (one configuration per
 * process; docs/configuration.md#process-wide-settings-with-ntlm).
 *
 * | variable | set from | value |
 * | --- | --- | --- |
 * | `KRB5_CONFIG`, `KRB5_KDC_PROFILE`, `KRB5_KTNAME`, `KRB5RCACHEDIR`, `NTLM_USER_FILE`, `NEGOTIATE_*` |
 * `realmEnvironment`: a throwaway realm's `env()` (the CLI's embedded realm, tests) | the realm's files; never
 * `KRB5CCNAME` nor `NEGOTIATE_PASSWORD` |
 * | `NTLM_USER_FILE` | `ntlmUserFile` (`credentials.ntlmUsers`, `--ntlm-users`) | gss-ntlmssp's users file |
 * | `LM_COMPAT_LEVEL` | `ntlm: true` | `5` (NTLMv2 only), whatever was inherited |
 * | `KRB5RCACHENAME` | `ntlm: true` with `replayCache` `none`, `memory` or `file:PATH` | `none:` or `file2:PATH` |
 * | `UWS_HTTP_MAX_HEADERS_SIZE` | `uwsMaxHeadersSize` (acceptors/uws.ts, before it loads uWebSockets.js) | bytes: an
 * operator's own positive value, else derived from the largest token |
 */
import { toNativeCredentials, type ReplayCacheOption } from './pool/credentials.js';

/** LM_COMPAT_LEVEL for gss-ntlmssp's acceptor: NTLMv2 responses only (as Windows' level 5). */
export const NTLM_LM_COMPAT_LEVEL = 5;

/** Variables of a throwaway realm's env() a server must not carry: it is no client. */
const CLIENT_ONLY_REALM_VARIABLES: readonly string[] = ['KRB5CCNAME', 'NEGOTIATE_PASSWORD'];

/** What to write; every field optional, each caller passes its own part. */
export interface ProcessWideSettings {
  /**
   * A throwaway realm's environment: the acceptor reads krb5.conf (default realm, enctypes) and
   * gss-ntlmssp the users file through it. The client's ccache and the password are skipped.
   */
  realmEnvironment?: Readonly<Record<string, string>>;
  /** gss-ntlmssp's users file (`NTLM_USER_FILE`), written whether or not NTLM is on. */
  ntlmUserFile?: string;
  /**
   * NTLM on: with it the addon acquires credentials without a cred store (gss-ntlmssp 1.2
   * crashes on acceptor credentials built from one), so the replay cache choice must reach MIT
   * through the environment before any worker thread starts; and the LM compatibility level is
   * pinned. A `CredentialOptions` can be passed as is.
   */
  ntlm?: boolean;
  replayCache?: ReplayCacheOption;
  /**
   * Header block size uWebSockets.js reads once, when it loads (acceptors/uws.ts decides it:
   * an operator's own setting wins).
   */
  uwsMaxHeadersSize?: number;
}

/** Writes the variables `settings` asks for into this process's environment. */
export function applyProcessWideSettings(settings: ProcessWideSettings): void {
  for (const [name, value] of Object.entries(settings.realmEnvironment ?? {})) {
    if (!CLIENT_ONLY_REALM_VARIABLES.includes(name)) process.env[name] = value;
  }
  if (settings.ntlmUserFile !== undefined) process.env['NTLM_USER_FILE'] = settings.ntlmUserFile;
  if (settings.ntlm === true) {
    // gss-ntlmssp reads its LM compatibility level from the environment at every accept; one
    // inherited at 0..2 would accept NTLMv1 and LM responses. 5 is NTLMv2 only, whatever the
    // server was started with.
    process.env['LM_COMPAT_LEVEL'] = String(NTLM_LM_COMPAT_LEVEL);
    const native = toNativeCredentials({
      ntlm: true,
      ...(settings.replayCache === undefined ? {} : { replayCache: settings.replayCache }),
    });
    // memory (and Redis): MIT's own cache is off and ours checks every accept.
    const rc = native.memoryReplayCache === true || native.sharedReplayTag === true ? 'none:' : native.replayCache;
    if (rc !== undefined) process.env['KRB5RCACHENAME'] = rc;
  }
  if (settings.uwsMaxHeadersSize !== undefined)
    process.env['UWS_HTTP_MAX_HEADERS_SIZE'] = String(settings.uwsMaxHeadersSize);
}
