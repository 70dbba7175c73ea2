/**
 * workers/pacWire.ts through the hand-off's frames: an AD user's PAC crosses in the complete
 * result's fixed layout and comes back equal, keys in the addon's order; a PAC the layout cannot
 * vouch for sends the whole result as JSON, still equal; a damaged list count is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flagsFromBits } from '../../src/native.js';
import { fixedLayout } from '../../workers/acceptWire.js';
import { pacLayout, readPac, writePac } from '../../workers/pacWire.js';
import { readWireBatch, WireBatchWriter } from '../../workers/wireFrames.js';

function roundTrip(value: object): Record<string, unknown> {
  const w = new WireBatchWriter(8);
  w.append(3, value);
  let out: unknown;
  readWireBatch(Uint8Array.from(w.frames()), (_seq, v) => (out = v));
  assert.ok(typeof out === 'object' && out !== null);
  return out as Record<string, unknown>;
}

const domain = 'S-1-5-21-1004336348-1177238915-682003330';
const groups = Array.from({ length: 300 }, (_, i) => `${domain}-${1100 + i}`);
const pac = {
  userSid: `${domain}-1104`,
  primaryGroupSid: `${domain}-513`,
  groupSids: [`${domain}-513`, ...groups],
  extraSids: ['S-1-18-1', 'S-1-5-21-9-8-7-1000'],
  resourceGroupSids: [],
  logonName: 'zoë',
  fullName: 'Zoë Ünïcode, Jr. 🙂',
  logonDomain: 'SAMBA',
  logonServer: 'DC1',
  domainSid: domain,
  userFlags: 0x20,
  userAccountControl: 0x210,
  upnDnsInfo: {
    upn: 'zoë@samba.example',
    dnsDomain: 'SAMBA.EXAMPLE',
    flags: 2,
    samName: 'zoë',
    sid: `${domain}-1104`,
  },
};
const complete = {
  ok: true,
  status: 'complete',
  output: Buffer.from([1, 2, 3]),
  principal: 'zoë@SAMBA.EXAMPLE',
  mech: 'krb5',
  spnego: true,
  flags: flagsFromBits(0x3e),
  lifetime: 35999,
  op: 'accept',
  workerThreadId: 2,
};

test('a PAC takes the fixed layout and comes back equal, in the same key order', () => {
  const upnOnly = { upn: pac.upnDnsInfo.upn, dnsDomain: pac.upnDnsInfo.dnsDomain, flags: pac.upnDnsInfo.flags };
  const noUpn: Record<string, unknown> = { ...pac };
  delete noUpn['upnDnsInfo'];
  const variants = [
    pac,
    { ...pac, upnDnsInfo: { ...upnOnly, flags: 0 } },
    noUpn,
    { ...noUpn, groupSids: [], extraSids: [], resourceGroupSids: [''], fullName: '', logonServer: '' },
    { ...pac, resourceGroupSids: ['S-1-5-21-5-5-5-700', 'S-1-5-21-5-5-5-701'], userFlags: 0xffff_ffff },
  ];
  for (const p of variants) {
    const value = { ...complete, pac: p };
    const fixed = fixedLayout(value);
    assert.ok(fixed?.pac !== undefined, 'fixed layout with the PAC');
    const got = roundTrip(structuredClone(value));
    assert.deepEqual(got['pac'], p);
    assert.equal(JSON.stringify(got['pac']), JSON.stringify(p));
    assert.equal(got['principal'], complete.principal);
    assert.deepEqual(got['output'], complete.output);
  }
});

test('a PAC the layout cannot vouch for sends the whole result as JSON, equal', () => {
  const odd: object[] = [
    { ...pac, groupSids: ['S-1-5-21-1,S-1-5-21-2'] },
    { ...pac, groupSids: [1, 2] },
    { ...pac, groupSids: 'S-1-5-21-1' },
    { ...pac, claims: [] },
    { ...pac, upnDnsInfo: { ...pac.upnDnsInfo, extra: 1 } },
    { ...pac, upnDnsInfo: { upn: 'a@b', dnsDomain: 'B', flags: 2, samName: 'a' } },
    { ...pac, userFlags: -1 },
    { ...pac, userAccountControl: 1.5 },
    { ...pac, logonName: undefined },
    { ...pac, domainSid: null },
  ];
  for (const p of odd) {
    const value = { ...complete, pac: p };
    assert.equal(pacLayout(p), undefined, JSON.stringify(p).slice(0, 120));
    assert.equal(fixedLayout(value), undefined);
    const got = roundTrip(structuredClone(value));
    assert.deepEqual(got['pac'], JSON.parse(JSON.stringify(p)));
  }
});

test('a list whose count does not match its SIDs is refused, not guessed', () => {
  const w = pacLayout(pac);
  assert.ok(w !== undefined);
  const buf = Buffer.alloc(w.bound);
  const end = writePac(w, buf, 0);
  assert.deepEqual(readPac(buf, 0), { pac, end });
  // The first list's count sits after the fixed fields and the eleven strings.
  let p = 13;
  for (let i = 0; i < 11; i++) p += 4 + buf.readUInt32LE(p);
  buf.writeUInt32LE(pac.groupSids.length + 1, p);
  assert.throws(() => readPac(buf, 0), /does not hold its count/);
});
