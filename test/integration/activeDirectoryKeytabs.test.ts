/**
 * Keytabs as Active Directory hands them out (Samba's AD DC, a throwaway domain): an RC4-only
 * keytab (what an account with no msDS-SupportedEncryptionTypes gets) and an AES one both
 * serve; an AES ticket against an RC4-only keytab fails with ERR_GSS_KEYTAB_ENCTYPE naming the
 * enctype and the fix; and after a password change (new keys, kvno + 1) and a re-export, the
 * CLI's SIGHUP reload takes the new keytab.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { ThrowawayAdDomain } from '../../src/realm/index.js';
import type { HostEvent, HostedServer } from '../support/hostedServer.js';
import {
  adSkipReason,
  FIXTURES,
  runInDomain,
  startAdServer,
  startTestAdDomain,
  type RunResult,
} from '../support/adDomain.js';
import { jsonLines, PYTHON } from '../support/server.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'negotiate-server.js');
const skip = adSkipReason();

describe('Active Directory keytabs', { skip }, () => {
  let domain: ThrowawayAdDomain;
  const servers: HostedServer[] = [];
  let cli: ChildProcessWithoutNullStreams | undefined;
  let tag = 0;

  before(async () => {
    domain = await startTestAdDomain();
  });
  after(async () => {
    for (const s of servers) await s.close().catch(() => s.kill());
    if (cli?.exitCode === null) cli.kill('SIGKILL');
    await domain?.destroy();
  });

  /** /whoami with a ticket from a new ccache, so it carries the service's current enctype and kvno. */
  async function whoamiFresh(port: number): Promise<RunResult & { status?: number }> {
    const ccache = path.join(domain.dir, `cc-${++tag}`);
    await domain.kinit(domain.userPrincipal, domain.password, ccache);
    const r = await runInDomain(
      domain,
      [PYTHON, path.join(FIXTURES, 'http_client.py'), `http://localhost:${port}/whoami`],
      { KRB5CCNAME: `FILE:${ccache}` },
    );
    await rm(ccache, { force: true });
    const parsed = jsonLines(r.stdout)[0];
    return { ...r, ...(typeof parsed?.['status'] === 'number' ? { status: parsed['status'] } : {}) };
  }

  async function serverOn(keytab: string): Promise<HostedServer> {
    const s = await startAdServer(domain, { keytab });
    servers.push(s);
    return s;
  }

  test('RC4 and AES keytabs serve; an AES ticket on an RC4-only keytab fails naming the enctype and fix', async () => {
    const rc4 = path.join(domain.dir, 'rc4.keytab');
    const aes = path.join(domain.dir, 'aes.keytab');
    await domain.setServiceEnctypes('rc4');
    await domain.exportServiceKeytab(rc4);
    const rc4Server = await serverOn(rc4);
    const withRc4 = await whoamiFresh(rc4Server.port('http'));
    assert.equal(withRc4.status, 200, `RC4 ticket, RC4 keytab: ${withRc4.stdout} ${withRc4.stderr}`);

    await domain.setServiceEnctypes('aes');
    await domain.exportServiceKeytab(aes);
    const aesServer = await serverOn(aes);
    const withAes = await whoamiFresh(aesServer.port('http'));
    assert.equal(withAes.status, 200, `AES ticket, AES keytab: ${withAes.stdout} ${withAes.stderr}`);

    const failed = new Promise<HostEvent>((resolve) => rc4Server.once('handshakeFailed', resolve));
    const mismatch = await whoamiFresh(rc4Server.port('http'));
    assert.equal(mismatch.status, 401, `AES ticket, RC4-only keytab: ${mismatch.stdout}`);
    const event = await failed;
    assert.equal(event.code, 'ERR_GSS_KEYTAB_ENCTYPE');
    assert.match(event.message ?? '', /encrypted with aes256-cts but the keytab has no aes256-cts key/);
    assert.match(event.message ?? '', /msDS-SupportedEncryptionTypes/);
  });

  test('a password change re-exported into the keytab is taken on SIGHUP, not before', async () => {
    await domain.setServiceEnctypes('aes');
    const keytab = path.join(domain.dir, 'served.keytab');
    await rm(keytab, { force: true });
    await domain.exportServiceKeytab(keytab);
    const [file, args] = await domain.command([
      process.execPath,
      BIN,
      'serve',
      '--keytab',
      keytab,
      '--http',
      '127.0.0.1:0',
      '--sspi',
      '127.0.0.1:0',
      '--gss-sample',
      '127.0.0.1:0',
      '--workers',
      '1',
    ]);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KRB5_CONFIG: domain.krb5Config,
      KRB5RCACHEDIR: domain.rcacheDir,
      LC_ALL: 'C',
    };
    const child = spawn(file, args, { env });
    cli = child;
    const events: Array<Record<string, unknown>> = [];
    createInterface({ input: child.stdout }).on('line', (l) => events.push(...jsonLines(l)));
    const waitFor = async (
      pred: (e: Record<string, unknown>) => boolean,
      what: string,
    ): Promise<Record<string, unknown>> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const hit = events.find(pred);
        if (hit !== undefined) return hit;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`no ${what}; events: ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const listening = await waitFor((e) => e['event'] === 'listening' && e['frontend'] === 'http', 'http listener');
    const port = listening['port'] as number;

    assert.equal((await whoamiFresh(port)).status, 200, 'before the password change');

    await domain.changeServicePassword();
    const fresh = path.join(domain.dir, 'served.keytab.new');
    await domain.exportServiceKeytab(fresh);
    await rename(fresh, keytab);
    const stale = await whoamiFresh(port);
    assert.equal(stale.status, 401, 'the new kvno is unknown until the reload');

    child.kill('SIGHUP');
    await waitFor((e) => e['event'] === 'keytabReloaded', 'keytabReloaded event');
    const after = await whoamiFresh(port);
    assert.equal(after.status, 200, `after SIGHUP: ${after.stdout} ${after.stderr}`);

    child.kill('SIGTERM');
    await waitFor((e) => e['event'] === 'stopped', 'stopped event');
  });
});
