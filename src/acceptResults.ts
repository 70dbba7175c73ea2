/**
 * What the addon's accept returns: the result types, the one mapping of GSS flag bits to
 * ContextFlags, and the functions (AcceptShapes) the addon makes its results with, which
 * loadNative (src/native.ts) registers once per thread. Re-exported by src/native.ts.
 */

/** A failure as the addon reports it: never thrown, always returned. */
export interface NativeFailure {
  ok: false;
  code: string;
  major: number;
  minor: number;
  message: string;
  /** An error token GSSAPI produced, to send to the peer before closing. */
  output?: Uint8Array;
}

/**
 * What a kept delegated credential is: the TGT the client forwarded, or (with `s4u2proxy`) a
 * proxy credential made from the client's ticket to this service, good for S4U2Proxy to the
 * targets the KDC lets this service delegate to.
 */
export type DelegationKind = 'forwarded' | 'constrained';

/** GSS context flags (ret_flags) by name; `bits` is the raw value. */
export interface ContextFlags {
  mutual: boolean;
  replay: boolean;
  sequence: boolean;
  integrity: boolean;
  confidentiality: boolean;
  delegation: boolean;
  anonymous: boolean;
  /**
   * The client's channel bindings matched the TLS channel the server gave (GSS_C_CHANNEL_BOUND_FLAG,
   * MIT krb5 1.19+): its token cannot have been relayed from another TLS connection.
   */
  channelBound: boolean;
  bits: number;
}

/** MS-PAC UPN_DNS_INFO: the user's UPN and DNS domain; samName and sid with flag S (2). */
export interface PacUpnDnsInfo {
  upn: string;
  dnsDomain: string;
  flags: number;
  samName?: string;
  sid?: string;
}

/**
 * The verified Windows PAC of a Kerberos ticket (MS-PAC KERB_VALIDATION_INFO), what a Windows
 * server reads from its access token (QuerySecurityContextToken, SECPKG_ATTR_ACCESS_TOKEN).
 * SIDs in string form; group RIDs already joined to the domain SID.
 */
export interface PacInfo {
  userSid: string;
  primaryGroupSid: string;
  /** GroupIds: the domain groups the user is in (the primary group among them). */
  groupSids: string[];
  /** ExtraSids: universal groups of other domains, SID history, claims SIDs (S-1-18-*). */
  extraSids: string[];
  /** ResourceGroupIds joined to ResourceGroupDomainSid (domain-local groups of a resource domain). */
  resourceGroupSids: string[];
  /** EffectiveName: the sAMAccountName. */
  logonName: string;
  fullName: string;
  /** NetBIOS domain name. */
  logonDomain: string;
  logonServer: string;
  domainSid: string;
  userFlags: number;
  userAccountControl: number;
  upnDnsInfo?: PacUpnDnsInfo;
}

/** GSS ret_flags bits (RFC 2744; 2048: MIT's GSS_C_CHANNEL_BOUND_FLAG) as ContextFlags. */
export function flagsFromBits(bits: number): ContextFlags {
  return {
    mutual: (bits & 2) !== 0,
    replay: (bits & 4) !== 0,
    sequence: (bits & 8) !== 0,
    integrity: (bits & 32) !== 0,
    confidentiality: (bits & 16) !== 0,
    delegation: (bits & 1) !== 0,
    anonymous: (bits & 64) !== 0,
    channelBound: (bits & 2048) !== 0,
    bits,
  };
}

export type NativeAcceptResult =
  { ok: true; status: 'continue'; output: Uint8Array } | NativeAcceptComplete | NativeFailure;

/** A leg that completed the context. */
export type NativeAcceptComplete = {
  ok: true;
  status: 'complete';
  output: Uint8Array;
  principal: string;
  mech: 'krb5' | 'ntlmssp' | 'unknown';
  spnego: boolean;
  flags: ContextFlags;
  /** Seconds the context stays valid, or null when it does not expire. */
  lifetime: number | null;
} & NativeAcceptExtras;

/** The rarer fields of a completed leg, present only when they apply. */
export interface NativeAcceptExtras {
  /** krb5 only: the ticket's PAC, when MIT verified it and its client info names the client. */
  pac?: PacInfo;
  /** Why a PAC the ticket carries was not used (unauthenticated, another client, malformed). */
  pacRefused?: string;
  /** With the `localName` credential option: gss_localname of the client, when it maps. */
  localName?: string;
  /** With the `localName` credential option: why the client has no local name. */
  localNameRefused?: string;
  /** With the `servicePrincipal` credential option: the acceptor principal the client authenticated to. */
  servicePrincipal?: string;
  /**
   * With `delegationDir`: the client's delegated credential, written to a new FILE ccache in
   * that directory (mode 0600, a temporary name); `lifetime` in seconds, null if indefinite.
   */
  delegated?: { path: string; lifetime: number | null; kind: DelegationKind };
  /** With `delegationDir`: why a delegated credential was not written. */
  delegationRefused?: string;
  /**
   * With `sharedReplayTag`, krb5 only: the authenticator's shared tag (32 hex digits, the
   * same on every server with the keytab; never token bytes), the accepting service and
   * how long a store keeps the tag (2 x clock skew).
   */
  replay?: SharedReplayTag;
}

/** The shared replay tag of a completed krb5 context (native/src/replay/replay_tag.h). */
export interface SharedReplayTag {
  tag: string;
  service: string;
  windowMs: number;
}

/**
 * What accept's results are made of: the addon calls these with the leg's values, and the object
 * is a literal here. Built property by property through N-API, a complete leg's result cost
 * ~12 µs of a worker's time per handshake (docs/handshake-cost.md).
 */
export interface AcceptShapes {
  continued(output: Uint8Array): NativeAcceptResult;
  completed(
    output: Uint8Array,
    principal: string,
    mech: NativeAcceptComplete['mech'],
    spnego: boolean,
    flagBits: number,
    lifetime: number | null,
    extras: NativeAcceptExtras | undefined,
  ): NativeAcceptResult;
  /** A PAC; each SID list comes as one string, its SIDs joined by ','. The UPN's fields when present. */
  pac(
    userSid: string,
    primaryGroupSid: string,
    groupSids: string,
    extraSids: string,
    resourceGroupSids: string,
    logonName: string,
    fullName: string,
    logonDomain: string,
    logonServer: string,
    domainSid: string,
    userFlags: number,
    userAccountControl: number,
    upn?: string,
    dnsDomain?: string,
    upnFlags?: number,
    samName?: string,
    sid?: string,
  ): PacInfo;
}

/** A SID list the addon joined (no SID contains ','). */
function sidList(joined: string): string[] {
  return joined === '' ? [] : joined.split(',');
}

/** The shapes loadNative registers in every thread. */
export const ACCEPT_SHAPES: AcceptShapes = {
  continued: (output) => ({ ok: true, status: 'continue', output }),
  completed: (output, principal, mech, spnego, flagBits, lifetime, extras) => {
    const r: NativeAcceptComplete = {
      ok: true,
      status: 'complete',
      output,
      principal,
      mech,
      spnego,
      flags: flagsFromBits(flagBits),
      lifetime,
    };
    return extras === undefined ? r : Object.assign(r, extras);
  },
  pac: (
    userSid,
    primaryGroupSid,
    groupSids,
    extraSids,
    resourceGroupSids,
    logonName,
    fullName,
    logonDomain,
    logonServer,
    domainSid,
    userFlags,
    userAccountControl,
    upn,
    dnsDomain,
    upnFlags,
    samName,
    sid,
  ) => {
    const p: PacInfo = {
      userSid,
      primaryGroupSid,
      groupSids: sidList(groupSids),
      extraSids: sidList(extraSids),
      resourceGroupSids: sidList(resourceGroupSids),
      logonName,
      fullName,
      logonDomain,
      logonServer,
      domainSid,
      userFlags,
      userAccountControl,
    };
    if (upn === undefined || dnsDomain === undefined || upnFlags === undefined) return p;
    p.upnDnsInfo =
      samName === undefined || sid === undefined
        ? { upn, dnsDomain, flags: upnFlags }
        : { upn, dnsDomain, flags: upnFlags, samName, sid };
    return p;
  },
};
