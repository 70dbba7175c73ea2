/**
 * Real Active Directory tokens delivered as a real network delivers them ("Active Directory" issue,
 * "How it is checked"): a user in 1,000 groups (a 9.4 KB SPNEGO token, a 12.5 KB header block)
 * and a delegated request of about 25 KB (1,400 groups and the forwarded TGT), each sent in
 * 1,448-byte segments a few ms apart, over HTTP and in a WebSocket frame. The client verifies the
 * server's mutual token; /whoami lists every group SID from the PAC. A server whose token limit
 * is below the ticket answers 431 (and logs why), never a silent close. Clients and servers run
 * inside the throwaway domain's network namespace (test/support/adDomain.ts).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import type { ThrowawayAdDomain } from '../../src/realm/index.js';
import type { HostedServer, HostEvent } from '../support/hostedServer.js';
import { waitUntil } from '../support/waitUntil.js';
import { adSkipReason, FIXTURES, runInDomain, startAdServer, startTestAdDomain } from '../support/adDomain.js';
import { PYTHON } from '../support/server.js';

const skip = adSkipReason();
const CLIENT = path.join(FIXTURES, 'segmented_client.py');

interface SegmentedResult {
  status?: number;
  bytes?: number;
  segments?: number;
  token_bytes?: number;
  mutual: boolean;
  delegated: boolean;
  body?: { principal?: string; flags?: { delegation: boolean }; pac?: { groupSids: string[] } } | string;
  error?: string;
}

describe('Active Directory: large real tokens in 1,448-byte segments', { skip }, () => {
  let domain: ThrowawayAdDomain;
  let server: HostedServer;

  before(async () => {
    domain = await startTestAdDomain();
    server = await startAdServer(domain, { wsPath: '/ws' });
  });
  after(async () => {
    await server?.close().catch(() => server.kill());
    await domain?.destroy();
  });

  async function send(url: string, delegate: boolean): Promise<{ code: number; result: SegmentedResult }> {
    const run = await runInDomain(domain, [PYTHON, CLIENT, url, ...(delegate ? ['--delegate'] : [])]);
    let result: SegmentedResult;
    try {
      result = JSON.parse(run.stdout) as SegmentedResult;
    } catch {
      assert.fail(`client printed no JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
    }
    return { code: run.code, result };
  }

  function whoami(r: SegmentedResult): { principal?: string; flags?: { delegation: boolean }; groupSids: string[] } {
    assert.ok(typeof r.body === 'object', `body: ${JSON.stringify(r.body).slice(0, 300)}`);
    return { ...r.body, groupSids: r.body.pac?.groupSids ?? [] };
  }

  test(
    'a user in 1,000 groups over HTTP: 200, mutual token verified, 1,001 group SIDs',
    { timeout: 120_000 },
    async () => {
      await domain.setGroups(1000);
      await domain.kinit(domain.userPrincipal, domain.password, domain.ccache);
      const { code, result } = await send(`http://localhost:${server.port('http')}/whoami`, false);
      assert.equal(code, 0, JSON.stringify(result).slice(0, 500));
      assert.equal(result.status, 200);
      assert.equal(result.mutual, true, 'the client verified the server');
      assert.ok((result.token_bytes ?? 0) > 9_000, `a 1,000-group token is ~9.4 KB, got ${result.token_bytes}`);
      assert.ok((result.segments ?? 0) >= 9, `sent in ${result.segments} segments`);
      const me = whoami(result);
      assert.equal(me.principal, domain.userPrincipal);
      assert.equal(me.groupSids.length, 1001, 'Domain Users and the 1,000 groups');
    },
  );

  test(
    'a 25 KB delegated request (1,400 groups + forwarded TGT) over HTTP and in a WebSocket frame',
    { timeout: 120_000 },
    async () => {
      await domain.setGroups(1400);
      await domain.kinit(domain.userPrincipal, domain.password, domain.ccache, { forwardable: true });

      const http = await send(`http://localhost:${server.port('http')}/whoami`, true);
      assert.equal(http.code, 0, JSON.stringify(http.result).slice(0, 500));
      assert.ok((http.result.bytes ?? 0) > 24_000, `request of ${http.result.bytes} bytes`);
      assert.equal(http.result.delegated, true, 'the client forwarded its TGT');
      assert.equal(http.result.mutual, true);
      const me = whoami(http.result);
      assert.equal(me.flags?.delegation, true, 'the server saw the delegated credential');
      assert.equal(me.groupSids.length, 1401);

      const ws = await send(`ws://localhost:${server.port('http')}/ws`, true);
      assert.equal(ws.code, 0, JSON.stringify(ws.result).slice(0, 500));
      assert.ok((ws.result.segments ?? 0) >= 12, `frame sent in ${ws.result.segments} segments`);
      assert.equal(ws.result.mutual, true);
      const announced = whoami(ws.result);
      assert.equal(announced.principal, domain.userPrincipal);
      assert.equal(announced.groupSids.length, 1401);
    },
  );

  test(
    'beyond the token limit the 1,000-group ticket gets 431 and a log line, not a silent close',
    { timeout: 120_000 },
    async () => {
      await domain.setGroups(1000);
      await domain.kinit(domain.userPrincipal, domain.password, domain.ccache);
      // A process of its own: uWS reads its header limit once per process, from the first server's --max-token.
      const small = await startAdServer(domain, { maxTokenBytes: 4096, logLevel: 'info' });
      try {
        const refused = new Promise<HostEvent>((resolve) => small.once('handshakeFailed', resolve));
        const { result } = await send(`http://localhost:${small.port('http')}/whoami`, false);
        assert.equal(result.status, 431, JSON.stringify(result).slice(0, 300));
        assert.equal((await refused).code, 'ERR_HTTP_HEADER_TOO_LARGE');
        await waitUntil(() => small.stderrTail().includes('ERR_HTTP_HEADER_TOO_LARGE'), 'the 431 logged');
      } finally {
        await small.close().catch(() => small.kill());
      }
    },
  );
});
