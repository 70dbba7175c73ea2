/**
 * Constrained delegation against a throwaway AD domain (Samba's AD DC): the service account may
 * delegate to host/backend.localhost only (msDS-AllowedToDelegateTo) and use protocol transition
 * (TRUSTED_TO_AUTH_FOR_DELEGATION). With ConstrainedDelegation (run inside the domain's
 * namespace by a fixture, with no ccache of alice's anywhere in its environment), S4U2Self +
 * S4U2Proxy give a ccache with which MIT's gss-client authenticates, as alice, to the server's
 * own gss-sample front end serving the back end's keytab; a target outside the list and a
 * service without protocol transition are refused with ERR_S4U_PROXY_REFUSED, an unknown user
 * with ERR_S4U_SELF_REFUSED; no file is left behind.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

import type { ThrowawayAdDomain } from '../../src/realm/index.js';
import type { HostEvent, HostedServer } from '../support/hostedServer.js';
import { adSkipReason, runInDomain, startAdServer, startTestAdDomain } from '../support/adDomain.js';
import type { S4uScript, S4uStep } from '../fixtures/s4uCredential.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 's4uCredential.js');
const skip = adSkipReason();

interface FixtureOutput {
  steps: S4uStep[];
  keptBeforeClose: boolean;
  keptAfterClose: boolean;
}

describe('constrained delegation (S4U2Self + S4U2Proxy) against Active Directory', { skip }, () => {
  let domain: ThrowawayAdDomain;
  let backend: HostedServer | undefined;
  let service: string;
  let s4uKeytab: string;
  let dir: string;

  before(async () => {
    domain = await startTestAdDomain();
    const backendKeytab = path.join(domain.dir, 'backend.keytab');
    await domain.createServiceAccount(
      'svc-backend',
      ['host/backend.localhost', 'HTTP/backend.localhost'],
      backendKeytab,
    );
    s4uKeytab = path.join(domain.dir, 's4u.keytab');
    service = await domain.exportServiceAccountKeytab(s4uKeytab);
    await domain.allowDelegation(['host/backend.localhost']);
    dir = await mkdtemp(path.join(domain.dir, 's4u-'));
    backend = await startAdServer(domain, { keytab: backendKeytab, gssSample: { host: '127.0.0.1', port: 0 } });
  });
  after(async () => {
    if (backend !== undefined) await backend.close().catch(() => backend?.kill());
    await domain?.destroy();
  });

  async function run(
    targets: S4uScript['targets'],
    user = domain.userPrincipal,
    as: { service: string; keytab: string } = { service, keytab: s4uKeytab },
  ): Promise<FixtureOutput> {
    const script: S4uScript = { ...as, dir, user, targets };
    // No ccache of alice's: the ticket comes from the service's keys alone.
    const r = await runInDomain(domain, [process.execPath, FIXTURE, JSON.stringify(script)], {
      KRB5CCNAME: `FILE:${path.join(domain.dir, 'no-such-ccache')}`,
    });
    assert.equal(r.code, 0, `fixture failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as FixtureOutput;
  }

  test('an allowed target: the back end authenticates alice with the ccache, a 0600 file, removed', async () => {
    assert.ok(backend);
    const port = backend.port('gss-sample');
    const session = once(backend, 'session') as Promise<[HostEvent]>;
    const out = await run([
      { target: 'host@backend.localhost', gssClient: { port, service: 'host@backend.localhost' } },
    ]);
    const step = out.steps[0];
    assert.ok(step?.ok, `refused: ${step?.code} ${step?.message}`);
    assert.equal(step.client, domain.userPrincipal);
    assert.equal(step.ticketTarget, `host/backend.localhost@${domain.realmName}`);
    assert.equal(step.mode, 0o600);
    assert.ok((step.lifetimeMs ?? 0) > 60_000, 'the ticket lives');
    assert.equal(step.gssClient?.code, 0, `gss-client: ${step.gssClient?.stderr}`);
    assert.match(step.gssClient?.stdout ?? '', /"alice@SAMBA\.EXAMPLE" to "host\/backend\.localhost@SAMBA\.EXAMPLE"/);
    const [event] = await session;
    assert.equal(event.frontend, 'gss-sample');
    assert.equal(event.principal, domain.userPrincipal);
    assert.equal(step.existsAfterRelease, false, 'release removes the ccache');
    assert.equal(out.keptBeforeClose, true);
    assert.equal(out.keptAfterClose, false, 'close removes the ccaches not released');
    assert.deepEqual(await readdir(dir), []);
  });

  test('a target outside msDS-AllowedToDelegateTo is refused with ERR_S4U_PROXY_REFUSED', async () => {
    const out = await run([{ target: 'HTTP@backend.localhost' }]);
    assert.equal(out.steps[0]?.ok, false);
    assert.equal(out.steps[0]?.code, 'ERR_S4U_PROXY_REFUSED');
    assert.match(out.steps[0]?.message ?? '', /msDS-AllowedToDelegateTo/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('an unknown user is refused with ERR_S4U_SELF_REFUSED', async () => {
    const out = await run([{ target: 'host@backend.localhost' }], `nobody@${domain.realmName}`);
    assert.equal(out.steps[0]?.code, 'ERR_S4U_SELF_REFUSED');
    assert.deepEqual(await readdir(dir), []);
  });

  test("the SPN works as the service name once it is the account's UPN (the acceptor's own keytab)", async () => {
    const spn = `HTTP/localhost@${domain.realmName}`;
    const before = await run([{ target: 'host@backend.localhost' }], domain.userPrincipal, {
      service: spn,
      keytab: domain.keytab,
    });
    assert.equal(before.steps[0]?.code, 'ERR_GSS_NO_CRED', 'AD refuses an SPN as an AS client');
    assert.match(before.steps[0]?.message ?? '', /not found in Kerberos database/);
    await domain.setServiceUpn(spn);
    const after = await run([{ target: 'host@backend.localhost' }], domain.userPrincipal, {
      service: spn,
      keytab: domain.keytab,
    });
    assert.ok(after.steps[0]?.ok, `refused: ${after.steps[0]?.code} ${after.steps[0]?.message}`);
    assert.equal(after.steps[0]?.ticketTarget, `host/backend.localhost@${domain.realmName}`);
    assert.deepEqual(await readdir(dir), []);
  });

  test('without protocol transition the KDC refuses, and the message says why', async () => {
    await domain.allowDelegation(['host/backend.localhost'], { protocolTransition: false });
    try {
      const out = await run([{ target: 'host@backend.localhost' }]);
      assert.equal(out.steps[0]?.code, 'ERR_S4U_PROXY_REFUSED');
      assert.match(out.steps[0]?.message ?? '', /TRUSTED_TO_AUTH_FOR_DELEGATION/);
    } finally {
      await domain.allowDelegation(['host/backend.localhost']);
    }
    assert.deepEqual(await readdir(dir), []);
  });
});
