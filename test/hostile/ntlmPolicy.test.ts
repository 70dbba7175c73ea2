/**
 * NTLM policy whatever the environment ("Hostile clients II", item 3). gss-ntlmssp reads
 * LM_COMPAT_LEVEL from the process environment at every accept; inherited as 0..2 (an
 * operator's shell, a container image) it would accept NTLMv1/LM responses silently. The server
 * runs its acceptor at level 5 (NTLMv2 only) regardless: here it is started with
 * LM_COMPAT_LEVEL=0 in its own environment, and a real gss-ntlmssp initiator at level 0 (which
 * sends NTLMv1) is refused while the same initiator at the default level gets in.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startHostedServer, type HostedServer, type HostEvent } from '../support/hostedServer.js';
import { startTestRealm } from '../support/realm.js';
import { PYTHON, jsonLines, requirePythonGssapi, runClient, SSPI_CLIENT } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';

const T = { timeout: 60_000 };
let realm: ThrowawayRealm;
let host: HostedServer;
const events: HostEvent[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  host = await startHostedServer(realm, { ntlm: true }, { LM_COMPAT_LEVEL: '0' });
  host.on('session', (e: HostEvent) => events.push(e));
  host.on('handshakeFailed', (e: HostEvent) => events.push(e));
});
after(async () => {
  await host?.close();
  await realm?.destroy();
});

async function ntlmClient(level: string | undefined): Promise<{ ok: boolean; out: string }> {
  const args = [SSPI_CLIENT, '--port', String(host.port('sspi')), '--timeout', '10', '--mech', 'ntlm', `--user=${realm.ntlmUser}`, `--password=${realm.password}`];
  const env: Record<string, string> = level === undefined ? {} : { LM_COMPAT_LEVEL: level };
  const r = await runClient(PYTHON, args, realm, 20_000, env);
  const line = jsonLines(r.stdout)[0];
  return { ok: r.code === 0 && line?.['ok'] === true, out: `${r.stdout} ${r.stderr}` };
}

test('a server started with LM_COMPAT_LEVEL=0 still refuses an NTLMv1 client and accepts NTLMv2', T, async () => {
  const v2 = await ntlmClient('5');
  assert.ok(v2.ok, `an NTLMv2 client gets in: ${v2.out}`);
  const before = events.length;
  const v1 = await ntlmClient('0');
  assert.equal(v1.ok, false, `an NTLMv1 client must be refused: ${v1.out}`);
  await waitUntil(() => events.length > before, 'an event for the NTLMv1 client', 5000);
  const e = events[before];
  assert.equal(e?.event, 'handshakeFailed', JSON.stringify(e));
  assert.match(e?.code ?? '', /^ERR_GSS_/);
  assert.ok(!events.slice(before).some((x) => x.event === 'session'), 'no session for the NTLMv1 client');
});
