/**
 * `--local-name rules:FILE` with real clients against the MIT realm: python3-gssapi as alice
 * and curl as bob and alice/admin authenticate over HTTP; /whoami shows the name the first
 * matching rule gives, and no `localName` for a principal no rule maps (never the principal).
 * A bad rules file refuses the start with its line number.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, runClient, startTestServer, type TestServer } from '../support/server.js';
import { pythonNegotiate } from '../support/negotiateClients.js';

const curl = requireTool('curl', 'curl');

let realm: ThrowawayRealm;
let server: TestServer;
let rulesFile: string;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  await realm.addPrincipal('bob', { password: realm.password });
  await realm.addPrincipal('alice/admin', { password: realm.password });
  await realm.kinit('bob@KRBTEST.COM', realm.password, `FILE:${path.join(realm.dir, 'bob.ccache')}`);
  await realm.kinit('alice/admin@KRBTEST.COM', realm.password, `FILE:${path.join(realm.dir, 'admin.ccache')}`);
  rulesFile = path.join(realm.dir, 'local-names');
  await fs.writeFile(
    rulesFile,
    ['# the web service’s local names', 'alice@KRBTEST.COM -> alice_web', '*/admin@KRBTEST.COM -> $1-admin', ''].join(
      '\n',
    ),
  );
  server = await startTestServer(realm, { http: { host: '127.0.0.1', port: 0 }, localName: `rules:${rulesFile}` });
});
after(async () => {
  await server?.server.close();
  await realm?.destroy();
});

async function whoamiWithCurl(ccache: string): Promise<{ principal: string; localName?: string }> {
  const r = await runClient(
    curl,
    ['-sf', '--negotiate', '-u', ':', `http://localhost:${server.httpPort}/whoami`],
    realm,
    15_000,
    {
      KRB5CCNAME: `FILE:${path.join(realm.dir, ccache)}`,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { principal: string; localName?: string };
}

test('a rule maps alice (python3-gssapi) to her local name in /whoami', async () => {
  const r = await pythonNegotiate(realm, server.httpPort, '/whoami');
  assert.equal(r.code, 0, JSON.stringify(r));
  const body = r.body as { principal: string; localName?: string };
  assert.equal(body.principal, 'alice@KRBTEST.COM');
  assert.equal(body.localName, 'alice_web');
});

test('a glob rule with $1 maps alice/admin (curl)', async () => {
  const body = await whoamiWithCurl('admin.ccache');
  assert.equal(body.principal, 'alice/admin@KRBTEST.COM');
  assert.equal(body.localName, 'alice-admin');
});

test('bob, whom no rule maps, authenticates without a localName', async () => {
  const body = await whoamiWithCurl('bob.ccache');
  assert.equal(body.principal, 'bob@KRBTEST.COM');
  assert.equal('localName' in body, false);
});

test('a bad rules file refuses the start, naming the line', async () => {
  const bad = path.join(realm.dir, 'bad-local-names');
  await fs.writeFile(bad, '# fine\nalice@KRBTEST.COM -> alice\n*@KRBTEST.COM -> $2\n');
  await assert.rejects(
    startTestServer(realm, { http: { host: '127.0.0.1', port: 0 }, localName: `rules:${bad}` }),
    (e: Error & { code?: string }) => e.code === 'ERR_CONFIG' && /line 3: \$2 refers to a group/.test(e.message),
  );
});
