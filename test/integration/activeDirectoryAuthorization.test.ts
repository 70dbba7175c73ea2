/**
 * --require-group against a real AD KDC (Samba's AD DC, a throwaway domain in its own network
 * namespace): a member of a required group (by SID, read from the ticket's verified PAC) is let
 * in; a non-member gets 403 with the mutual token, which the client verifies.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import type { ThrowawayAdDomain } from '../../src/realm/index.js';
import type { HostedServer } from '../support/hostedServer.js';
import { adSkipReason, FIXTURES, runInDomain, startAdServer, startTestAdDomain } from '../support/adDomain.js';
import { PYTHON } from '../support/server.js';

const skip = adSkipReason();

interface Answer {
  status: number;
  mutual: boolean;
  body: { principal?: string; pac?: { groupSids: string[]; domainSid: string } } | string;
}

describe('Active Directory: --require-group by SID from the PAC', { skip }, () => {
  let domain: ThrowawayAdDomain;
  const servers: HostedServer[] = [];

  before(async () => {
    domain = await startTestAdDomain(2);
  });
  after(async () => {
    for (const s of servers) await s.close().catch(() => s.kill());
    await domain?.destroy();
  });

  async function get(server: HostedServer, expectStatus = 200): Promise<{ code: number; answer: Answer }> {
    const url = `http://localhost:${server.port('http')}/whoami`;
    const args = [PYTHON, path.join(FIXTURES, 'http_client.py'), url, '--expect-status', String(expectStatus)];
    const run = await runInDomain(domain, args);
    return { code: run.code, answer: JSON.parse(run.stdout) as Answer };
  }

  async function serve(requireGroups: string[]): Promise<HostedServer> {
    const s = await startAdServer(domain, { authorization: { requireGroups } });
    servers.push(s);
    return s;
  }

  test('a member of a required group is let in; a non-member gets 403 with the mutual token', async () => {
    // The user's groups, as the server reads them (no rule yet).
    const open = await serve([]);
    const seen = await get(open);
    assert.equal(seen.code, 0, JSON.stringify(seen.answer));
    const pac = typeof seen.answer.body === 'string' ? undefined : seen.answer.body.pac;
    assert.ok(pac, 'an AD ticket has a PAC');
    const testGroup = pac.groupSids.find((g) => !g.endsWith('-513'));
    assert.ok(testGroup, `a test group among ${pac.groupSids.join(', ')}`);

    const member = await serve([`${pac.domainSid}-512`, testGroup]);
    const allowed = await get(member);
    assert.equal(allowed.code, 0, JSON.stringify(allowed.answer));
    assert.equal(allowed.answer.status, 200);

    // Domain Admins (RID 512): the test user is not one.
    const admins = await serve([`${pac.domainSid}-512`]);
    const refused = await get(admins, 403);
    assert.equal(
      refused.code,
      0,
      `403 whose final token completes a mutual context: ${JSON.stringify(refused.answer)}`,
    );
    assert.equal(refused.answer.status, 403);
    assert.equal(refused.answer.mutual, true);
  });
});
