/**
 * Against a real AD KDC (Samba's AD DC, a throwaway domain in its own network namespace): the
 * groups and SIDs the server reads from the PAC of real AD tickets are the ones Samba's own
 * decoder (samba.dcerpc.krb5pac) reads from the same buffer, for 1, 300 and 2,000 groups; the
 * server's mutual token is verified by the client; the WebSocket identity carries the PAC too;
 * and `realm down` leaves no process and no namespace behind.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import path from 'node:path';

import type { ThrowawayAdDomain } from '../../src/realm/index.js';
import type { HostedServer } from '../support/hostedServer.js';
import { adSkipReason, FIXTURES, runInDomain, startAdServer, startTestAdDomain } from '../support/adDomain.js';
import { PYTHON } from '../support/server.js';

const skip = adSkipReason();

interface SidView {
  userSid: string;
  primaryGroupSid: string;
  groupSids: string[];
  extraSids: string[];
  resourceGroupSids: string[];
  logonName: string;
  logonDomain: string;
}

function sids(v: SidView): SidView {
  const { userSid, primaryGroupSid, groupSids, extraSids, resourceGroupSids, logonName, logonDomain } = v;
  return { userSid, primaryGroupSid, groupSids, extraSids, resourceGroupSids, logonName, logonDomain };
}

/** A SPNEGO token for HTTP@localhost from the user's ccache, base64, on stdout. */
const kTokenScript = [
  'import base64, gssapi',
  "n = gssapi.Name('HTTP@localhost', gssapi.NameType.hostbased_service)",
  "c = gssapi.SecurityContext(name=n, usage='initiate', mech=gssapi.OID.from_int_seq('1.3.6.1.5.5.2'))",
  'print(base64.b64encode(c.step()).decode())',
].join('\n');

describe('Active Directory: groups and SIDs from the PAC', { skip }, () => {
  let domain: ThrowawayAdDomain;
  let server: HostedServer;
  /** Samba's reading of the last /whoami test's ticket (the user's groups are unchanged since). */
  let lastReference: SidView | undefined;

  before(async () => {
    domain = await startTestAdDomain();
    server = await startAdServer(domain, { wsPath: '/ws' });
  });
  after(async () => {
    await server?.close().catch(() => server.kill());
    if (domain !== undefined) {
      const { netns, sambaPid } = domain;
      await domain.destroy();
      // destroy() ends every process of the namespace and the namespace itself.
      assert.throws(() => process.kill(sambaPid, 0), /ESRCH/, 'samba still runs after destroy()');
      await assert.rejects(access(path.join('/run/netns', netns)), 'the namespace is still there');
    }
  });

  for (const groups of [1, 300, 2000]) {
    test(`a user in ${groups} groups: /whoami's "pac" equals Samba's decoding of the same ticket's PAC`, async () => {
      await domain.setGroups(groups);
      // A new TGT: group membership is read when the KDC issues it.
      await domain.kinit(domain.userPrincipal, domain.password, domain.ccache);

      const ref = await runInDomain(domain, [PYTHON, path.join(FIXTURES, 'ad_pac_reference.py')]);
      assert.equal(ref.code, 0, ref.stderr);
      const reference = JSON.parse(ref.stdout) as SidView & { authenticated: boolean };
      assert.equal(reference.authenticated, true);

      const url = `http://localhost:${server.port('http')}/whoami`;
      const run = await runInDomain(domain, [PYTHON, path.join(FIXTURES, 'http_client.py'), url]);
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      const client = JSON.parse(run.stdout) as { status: number; mutual: boolean; complete: boolean; body: unknown };
      assert.equal(client.status, 200);
      assert.equal(client.mutual, true, 'the client verified the server (mutual authentication)');
      const whoami = client.body as {
        principal: string;
        pac?: SidView & {
          domainSid: string;
          upnDnsInfo?: { upn: string; dnsDomain: string; samName?: string; sid?: string };
        };
      };
      assert.equal(whoami.principal, domain.userPrincipal);
      assert.ok(whoami.pac, `no "pac" in /whoami: ${JSON.stringify(client.body).slice(0, 500)}`);
      assert.deepEqual(sids(whoami.pac), sids(reference));
      // Domain Users (the primary group) and the test groups.
      assert.equal(whoami.pac.groupSids.length, groups + 1);
      assert.ok(whoami.pac.userSid.startsWith(`${whoami.pac.domainSid}-`));
      assert.equal(whoami.pac.logonName, domain.user);
      assert.equal(whoami.pac.upnDnsInfo?.dnsDomain, domain.realmName);
      assert.equal(whoami.pac.upnDnsInfo?.sid, whoami.pac.userSid);
      lastReference = reference;
    });
  }

  test('the WebSocket authenticated message carries the same PAC', async () => {
    assert.ok(lastReference, 'runs after the /whoami tests');
    const token = await runInDomain(domain, [PYTHON, '-c', kTokenScript]);
    assert.equal(token.code, 0, token.stderr);
    const url = `ws://localhost:${server.port('http')}/ws`;
    const r = await runInDomain(domain, [
      process.execPath,
      path.join(FIXTURES, 'ws_pac_client.mjs'),
      url,
      token.stdout.trim(),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const message = JSON.parse(r.stdout) as { type: string; principal: string; pac?: SidView };
    assert.equal(message.type, 'authenticated');
    assert.equal(message.principal, domain.userPrincipal);
    assert.ok(message.pac, r.stdout.slice(0, 500));
    assert.deepEqual(sids(message.pac), sids(lastReference));
  });
});
