/**
 * The PAC of a complete accept result (an Active Directory user's: PacInfo, src/acceptResults.ts)
 * in the hand-off's fixed layout (workers/acceptWire.ts), instead of JSON: with a few dozen group
 * SIDs, JSON.parse of the result cost ~20 µs of the socket thread per handshake. Each SID list
 * crosses as one string joined by ',' (no SID contains one) and is split once on the other side.
 *
 *   u32 userFlags | u32 userAccountControl | u8 upn (0 none, 1 upn and dnsDomain, 3 and samName
 *   and sid) | u32 upn flags | strings (u32 n | UTF-8): userSid, primaryGroupSid, logonName,
 *   fullName, logonDomain, logonServer, domainSid[, upn, dnsDomain[, samName, sid]]
 *   | per list (groupSids, extraSids, resourceGroupSids): u32 count | u32 n | the SIDs joined
 *
 * A PAC with any other key, a value of another type, or a list element holding ',' has no
 * fixed layout: the whole result goes as JSON.
 */
import type { PacInfo, PacUpnDnsInfo } from '../src/native.js';
import { field, isU32, keysWithin } from './wireShape.js';

const STRING_KEYS = [
  'userSid',
  'primaryGroupSid',
  'logonName',
  'fullName',
  'logonDomain',
  'logonServer',
  'domainSid',
] as const;
const LIST_KEYS = ['groupSids', 'extraSids', 'resourceGroupSids'] as const;
const PAC_KEYS = new Set<string>([...STRING_KEYS, ...LIST_KEYS, 'userFlags', 'userAccountControl', 'upnDnsInfo']);
const UPN_KEYS = new Set(['upn', 'dnsDomain', 'flags', 'samName', 'sid']);
const UPN_NAMES = 1;
const UPN_SAM_AND_SID = 2;

/** A PAC checked for the fixed layout, with what writing it needs. */
export interface PacWire {
  userFlags: number;
  userAccountControl: number;
  upn: number;
  upnFlags: number;
  /** STRING_KEYS' values, then the UPN's. */
  strings: string[];
  /** LIST_KEYS' values joined by ',', and their lengths. */
  lists: string[];
  counts: number[];
  /** The most bytes it takes. */
  bound: number;
}

/** `pac`'s fixed layout, or undefined when it has none. */
export function pacLayout(pac: unknown): PacWire | undefined {
  if (typeof pac !== 'object' || pac === null || !keysWithin(pac, PAC_KEYS)) return undefined;
  const userFlags = field(pac, 'userFlags');
  const userAccountControl = field(pac, 'userAccountControl');
  if (!isU32(userFlags) || !isU32(userAccountControl)) return undefined;
  const strings: string[] = [];
  for (const k of STRING_KEYS) {
    const s = field(pac, k);
    if (typeof s !== 'string') return undefined;
    strings.push(s);
  }
  let upn = 0;
  let upnFlags = 0;
  const u = field(pac, 'upnDnsInfo');
  if (u !== undefined) {
    if (typeof u !== 'object' || u === null || !keysWithin(u, UPN_KEYS)) return undefined;
    const name = field(u, 'upn');
    const dns = field(u, 'dnsDomain');
    const flags = field(u, 'flags');
    if (typeof name !== 'string' || typeof dns !== 'string' || !isU32(flags)) return undefined;
    strings.push(name, dns);
    upn = UPN_NAMES;
    upnFlags = flags;
    const sam = field(u, 'samName');
    const sid = field(u, 'sid');
    if (sam !== undefined || sid !== undefined) {
      if (typeof sam !== 'string' || typeof sid !== 'string') return undefined;
      strings.push(sam, sid);
      upn |= UPN_SAM_AND_SID;
    }
  }
  const lists: string[] = [];
  const counts: number[] = [];
  for (const k of LIST_KEYS) {
    const list = field(pac, k);
    if (!Array.isArray(list)) return undefined;
    for (const s of list) if (typeof s !== 'string' || s.includes(',')) return undefined;
    lists.push(list.join(','));
    counts.push(list.length);
  }
  let bound = 13;
  for (const s of strings) bound += 4 + s.length * 3;
  for (const s of lists) bound += 8 + s.length * 3;
  return { userFlags, userAccountControl, upn, upnFlags, strings, lists, counts, bound };
}

function putString(out: Buffer, at: number, s: string): number {
  const n = out.write(s, at + 4);
  out.writeUInt32LE(n, at);
  return at + 4 + n;
}

/** Writes `w` at `at` (room for w.bound); returns where it ends. */
export function writePac(w: PacWire, out: Buffer, at: number): number {
  let p = out.writeUInt32LE(w.userFlags, at);
  p = out.writeUInt32LE(w.userAccountControl, p);
  out[p++] = w.upn;
  p = out.writeUInt32LE(w.upnFlags, p);
  for (const s of w.strings) p = putString(out, p, s);
  w.lists.forEach((s, i) => {
    p = out.writeUInt32LE(w.counts[i] ?? 0, p);
    p = putString(out, p, s);
  });
  return p;
}

/** The PAC writePac wrote at `at`, and where it ends. */
export function readPac(buf: Buffer, at: number): { pac: PacInfo; end: number } {
  let p = at + 13;
  const text = (): string => {
    const n = buf.readUInt32LE(p);
    const s = buf.toString('utf8', p + 4, p + 4 + n);
    p += 4 + n;
    return s;
  };
  const list = (): string[] => {
    const count = buf.readUInt32LE(p);
    p += 4;
    const joined = text();
    const items = count === 0 ? [] : joined.split(',');
    if (items.length !== count) throw new RangeError('hand-off frame: a PAC list does not hold its count');
    return items;
  };
  const upn = buf[at + 8] ?? 0;
  const userSid = text();
  const primaryGroupSid = text();
  const logonName = text();
  const fullName = text();
  const logonDomain = text();
  const logonServer = text();
  const domainSid = text();
  let upnDnsInfo: PacUpnDnsInfo | undefined;
  if ((upn & UPN_NAMES) !== 0) {
    upnDnsInfo = { upn: text(), dnsDomain: text(), flags: buf.readUInt32LE(at + 9) };
    if ((upn & UPN_SAM_AND_SID) !== 0) {
      upnDnsInfo.samName = text();
      upnDnsInfo.sid = text();
    }
  }
  // Keys in the order the addon makes them (native/src/binding/accept.cc), as JSON would have kept.
  const pac: PacInfo = {
    userSid,
    primaryGroupSid,
    groupSids: list(),
    extraSids: list(),
    resourceGroupSids: list(),
    logonName,
    fullName,
    logonDomain,
    logonServer,
    domainSid,
    userFlags: buf.readUInt32LE(at),
    userAccountControl: buf.readUInt32LE(at + 4),
  };
  if (upnDnsInfo !== undefined) pac.upnDnsInfo = upnDnsInfo;
  return { pac, end: p };
}
