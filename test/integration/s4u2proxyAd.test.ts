/**
 * S4U2Proxy at accept time (credentials.s4u2proxy, `--s4u2proxy`) against a throwaway AD domain:
 * the service account (its UPN set to its SPN, so its keytab gets it a TGT) may delegate to
 * host/backend.localhost only, without protocol transition. alice authenticates to the server
 * over HTTP with curl, forwarding nothing; the application (the authorize hook of a fixture run
 * in the domain's namespace) takes the ccache the handshake left and MIT's gss-client
 * authenticates with it, as alice, to the back end's gss-sample front end; a target outside
 * msDS-AllowedToDelegateTo is refused. The identity says `delegation: 'constrained'` with
 * `flags.delegation` false; a client that does forward gets its real TGT kept
 * (`delegation: 'forwarded'`). Each ccache is 0600 and gone once the response has closed.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

import type { ThrowawayAdDomain } from '../../src/realm/index.js';
import type { HostEvent, HostedServer } from '../support/hostedServer.js';
import { adSkipReason, runInDomain, startAdServer, startTestAdDomain } from '../support/adDomain.js';
import type { S4u2ProxyRequest, S4u2ProxyScript } from '../fixtures/s4u2proxyServer.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 's4u2proxyServer.js');
const skip = adSkipReason();
const ALLOWED = 'host@backend.localhost';
const NOT_ALLOWED = 'HTTP@backend.localhost';

describe('--s4u2proxy: constrained delegation from the client’s own ticket, against Active Directory', { skip }, () => {
  let domain: ThrowawayAdDomain;
  let backend: HostedServer | undefined;
  let spn: string;

  before(async () => {
    domain = await startTestAdDomain();
    const backendKeytab = path.join(domain.dir, 'backend.keytab');
    await domain.createServiceAccount(
      'svc-backend',
      ['host/backend.localhost', 'HTTP/backend.localhost'],
      backendKeytab,
    );
    // No protocol transition: the evidence can only be alice's own (forwardable) ticket.
    await domain.allowDelegation(['host/backend.localhost'], { protocolTransition: false });
    spn = `HTTP/localhost@${domain.realmName}`;
    await domain.setServiceUpn(spn);
    backend = await startAdServer(domain, { keytab: backendKeytab, gssSample: { host: '127.0.0.1', port: 0 } });
  });
  after(async () => {
    if (backend !== undefined) await backend.close().catch(() => backend?.kill());
    await domain?.destroy();
  });

  async function serve(requests: S4u2ProxyScript['requests']): Promise<S4u2ProxyRequest[]> {
    assert.ok(backend);
    const dir = await mkdtemp(path.join(domain.dir, 'deleg-'));
    const script: S4u2ProxyScript = {
      keytab: domain.keytab,
      principal: spn,
      dir,
      targets: [ALLOWED, NOT_ALLOWED],
      backendPort: backend.port('gss-sample'),
      requests,
    };
    const r = await runInDomain(domain, [process.execPath, FIXTURE, JSON.stringify(script)]);
    assert.equal(r.code, 0, `fixture failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { requests: S4u2ProxyRequest[] }).requests;
  }

  test('alice forwards nothing: the app reaches the allowed target as alice, not the other one', async () => {
    const session = once(backend as HostedServer, 'session') as Promise<[HostEvent]>;
    const [req] = await serve([{ delegate: false }]);
    assert.ok(req);
    assert.equal(req.curl.code, 0, `curl: ${req.curl.stderr}`);
    assert.equal(req.whoami?.principal, domain.userPrincipal);
    const found = req.whoami?.extra;
    assert.ok(found, `no hook findings in /whoami: ${req.curl.stdout}`);
    assert.equal(found.delegation, 'constrained');
    assert.equal(found.flagsDelegation, false, 'flags.delegation stays for a TGT the client forwarded');
    assert.equal(found.hasCcache, true);
    assert.equal(found.mode, 0o600);
    // MIT marks the ccache as a proxy credential: its client is alice, the impersonator the service.
    assert.match(found.klist?.stdout ?? '', /Default principal: alice@SAMBA\.EXAMPLE/);
    assert.match(found.klist?.stdout ?? '', /proxy_impersonator/);
    // alice's ticket to us (the evidence), and the service's own TGT beside it (docs: security notes).
    assert.match(found.klist?.stdout ?? '', /HTTP\/localhost@SAMBA\.EXAMPLE/);
    assert.match(found.klist?.stdout ?? '', /krbtgt\/SAMBA\.EXAMPLE@SAMBA\.EXAMPLE/);
    const allowed = found.targets[ALLOWED];
    assert.equal(allowed?.code, 0, `gss-client to the allowed target: ${allowed?.stderr}`);
    assert.match(allowed?.stdout ?? '', /"alice@SAMBA\.EXAMPLE" to "host\/backend\.localhost@SAMBA\.EXAMPLE"/);
    const [event] = await session;
    assert.equal(event.principal, domain.userPrincipal, 'the back end authenticated alice');
    const refused = found.targets[NOT_ALLOWED];
    assert.notEqual(refused?.code, 0, 'a target outside msDS-AllowedToDelegateTo is refused');
    assert.deepEqual(req.leftInDir, [], 'the ccache is removed once the response has closed');
  });

  test('alice forwards her TGT: it is kept as a forwarded credential, flags.delegation true', async () => {
    const [req] = await serve([{ delegate: true }]);
    assert.ok(req);
    assert.equal(req.curl.code, 0, `curl: ${req.curl.stderr}`);
    const found = req.whoami?.extra;
    assert.ok(found, `no hook findings in /whoami: ${req.curl.stdout}`);
    assert.equal(found.delegation, 'forwarded');
    assert.equal(found.flagsDelegation, true);
    assert.equal(found.mode, 0o600);
    assert.match(found.klist?.stdout ?? '', /krbtgt\/SAMBA\.EXAMPLE@SAMBA\.EXAMPLE/);
    assert.doesNotMatch(found.klist?.stdout ?? '', /proxy_impersonator/);
    // A TGT reaches every service, the one outside the list too.
    assert.equal(found.targets[ALLOWED]?.code, 0, found.targets[ALLOWED]?.stderr);
    assert.equal(found.targets[NOT_ALLOWED]?.code, 0, found.targets[NOT_ALLOWED]?.stderr);
    assert.deepEqual(req.leftInDir, []);
  });
});
