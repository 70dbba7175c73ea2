/**
 * The /whoami answer: whoamiJson is the text JSON.stringify gives for the answer's object (built
 * here as the reference), for every optional field and for strings that need escaping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { whoamiJson } from '../../src/http/whoami.js';
import type { ProvenIdentity } from '../../src/handshake/identity.js';
import type { ContextFlags } from '../../src/native.js';

type WhoamiIdentity = ProvenIdentity & { via: 'negotiate' | 'basic' | 'cookie' };

/** The answer as an object, in its field order; never the delegated ccache's path. */
function whoamiBody(identity: WhoamiIdentity): object {
  const { principal, mech, spnego, flags, via, pac, localName, extra } = identity;
  return {
    principal,
    mech,
    spnego,
    flags,
    via,
    ...(localName !== undefined ? { localName } : {}),
    ...(pac !== undefined ? { pac } : {}),
    ...(extra !== undefined ? { extra } : {}),
  };
}

const flags: ContextFlags = {
  mutual: true,
  replay: true,
  sequence: true,
  integrity: true,
  confidentiality: true,
  delegation: false,
  anonymous: false,
  channelBound: false,
  bits: 62,
};

test('whoamiJson is JSON.stringify(whoamiBody(identity)), optional fields and escapes included', () => {
  const base: WhoamiIdentity = {
    principal: 'alice@KRBTEST.COM',
    mech: 'krb5',
    spnego: true,
    flags,
    expiresAt: 1,
    via: 'negotiate',
  };
  const identities: WhoamiIdentity[] = [
    base,
    { ...base, via: 'cookie', spnego: false, expiresAt: null },
    { ...base, principal: 'DOM\\bob "quoted"\n\u2028é', mech: 'ntlmssp', via: 'basic' },
    { ...base, localName: 'alice' },
    { ...base, extra: { role: 'admin', n: 1, nested: { a: [1, 'b'] } } },
    {
      ...base,
      localName: 'al"ice',
      pac: {
        userSid: 'S-1-5-21-1-2-3-1001',
        primaryGroupSid: 'S-1-5-21-1-2-3-513',
        groupSids: ['S-1-5-21-1-2-3-513'],
        extraSids: [],
        resourceGroupSids: [],
        logonName: 'alice',
        fullName: 'Alice "A"',
        logonDomain: 'KRBTEST',
        logonServer: 'DC1',
        domainSid: 'S-1-5-21-1-2-3',
        userFlags: 32,
        userAccountControl: 16,
        upnDnsInfo: { upn: 'alice@krbtest.com', dnsDomain: 'KRBTEST.COM', flags: 0 },
      },
      extra: {},
      delegatedCcache: '/tmp/never-shown',
      delegation: 'forwarded',
    },
  ];
  for (const identity of identities) {
    const json = whoamiJson(identity);
    assert.equal(json, JSON.stringify(whoamiBody(identity)));
    assert.ok(!json.includes('never-shown'));
  }
});
