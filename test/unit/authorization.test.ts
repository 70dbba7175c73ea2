/**
 * The authorization rules and the hook's answers (src/authorization/), without a realm: what
 * each rule lets in and refuses, how a principals file with junk is refused at start (its line
 * number), and how each answer of the hook is read.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Authorizer, checkRules, compileRules, readHookResult, realmOf } from '../../src/authorization/index.js';
import { ConfigError } from '../../src/errors.js';
import type { PacInfo } from '../../src/native.js';
import type { ProvenIdentity } from '../../src/handshake/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'negotiate-authz-unit-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

const PAC: PacInfo = {
  userSid: 'S-1-5-21-1-2-3-1105',
  primaryGroupSid: 'S-1-5-21-1-2-3-513',
  groupSids: ['S-1-5-21-1-2-3-513', 'S-1-5-21-1-2-3-1200'],
  extraSids: ['S-1-5-21-9-9-9-700'],
  resourceGroupSids: ['S-1-5-21-8-8-8-600'],
  logonName: 'alice',
  fullName: 'Alice',
  logonDomain: 'CORP',
  logonServer: 'DC1',
  domainSid: 'S-1-5-21-1-2-3',
  userFlags: 0,
  userAccountControl: 0,
};

const identity = (principal: string, pac?: PacInfo): ProvenIdentity => ({
  principal,
  mech: 'krb5',
  spnego: true,
  flags: {} as ProvenIdentity['flags'],
  expiresAt: null,
  ...(pac ? { pac } : {}),
});

test('realmOf: the part after the last unescaped @; none for NTLM names', () => {
  assert.equal(realmOf('alice@CORP.EXAMPLE'), 'CORP.EXAMPLE');
  assert.equal(realmOf('a\\@b@CORP.EXAMPLE'), 'CORP.EXAMPLE');
  assert.equal(realmOf('HTTP/host@R'), 'R');
  assert.equal(realmOf('CORP\\alice'), undefined);
});

test('allow-realm and allow-principal: either lets in; the refusing rule is named', () => {
  const realms = compileRules({ allowRealms: ['CORP.EXAMPLE'] });
  assert.equal(checkRules(realms, identity('alice@CORP.EXAMPLE')), undefined);
  assert.equal(checkRules(realms, identity('alice@EVIL.EXAMPLE'))?.rule, 'allow-realm');
  assert.equal(checkRules(realms, identity('corp.example@alice'))?.rule, 'allow-realm');
  assert.equal(checkRules(realms, identity('CORP\\alice'))?.rule, 'allow-realm', 'an NTLM name has no realm');
  const names = compileRules({ allowPrincipals: ['bob@OTHER.EXAMPLE'] });
  assert.equal(checkRules(names, identity('bob@OTHER.EXAMPLE')), undefined);
  assert.equal(checkRules(names, identity('BOB@OTHER.EXAMPLE'))?.rule, 'allow-principal', 'case-sensitive');
  const both = compileRules({ allowRealms: ['CORP.EXAMPLE'], allowPrincipals: ['bob@OTHER.EXAMPLE'] });
  assert.equal(checkRules(both, identity('alice@CORP.EXAMPLE')), undefined);
  assert.equal(checkRules(both, identity('bob@OTHER.EXAMPLE')), undefined);
  assert.equal(checkRules(both, identity('eve@OTHER.EXAMPLE'))?.rule, 'allow');
});

test('require-group: any listed SID among primary, domain, extra and resource groups; no PAC refuses', () => {
  for (const sid of ['S-1-5-21-1-2-3-513', 'S-1-5-21-1-2-3-1200', 'S-1-5-21-9-9-9-700', 'S-1-5-21-8-8-8-600']) {
    assert.equal(checkRules(compileRules({ requireGroups: [sid] }), identity('alice@CORP', PAC)), undefined, sid);
  }
  const admins = compileRules({ requireGroups: ['S-1-5-21-1-2-3-512', 'S-1-5-21-1-2-3-519'] });
  assert.match(checkRules(admins, identity('alice@CORP', PAC))?.reason ?? '', /not a member/);
  assert.match(checkRules(admins, identity('alice@CORP'))?.reason ?? '', /no verified PAC/);
  assert.throws(() => compileRules({ requireGroups: ['Domain Admins'] }), /not a SID/);
});

test('a principals file: comments and blanks skipped; a junk line refuses with its line number', () => {
  const good = file('good', '# staff\nalice@CORP.EXAMPLE\n\n  bob@CORP.EXAMPLE  \nCORP\\carol\r\n');
  assert.deepEqual(
    [...compileRules({ allowPrincipalsFile: good }).allowPrincipals],
    ['alice@CORP.EXAMPLE', 'bob@CORP.EXAMPLE', 'CORP\\carol'],
  );
  for (const [text, line] of [
    ['alice@CORP.EXAMPLE\nbob smith@CORP.EXAMPLE\n', 2],
    ['# x\n\nalice@\n', 3],
    ['@CORP\n', 1],
    ['alice@A@B\n', 1],
    ['ok@R\nbell\u0007@R\n', 2],
  ] as const) {
    const p = file(`bad${line}`, text);
    assert.throws(
      () => compileRules({ allowPrincipalsFile: p }),
      (e: unknown) => e instanceof ConfigError && e.code === 'ERR_CONFIG' && e.message.includes(`${p} line ${line}:`),
      JSON.stringify(text),
    );
  }
  assert.throws(() => compileRules({ allowPrincipalsFile: path.join(dir, 'missing') }), /cannot be read/);
  assert.throws(() => compileRules({ allowRealms: ['A'], denyRealms: ['B'] } as never), /unknown option/);
});

test('the hook: each answer read, anything else a failure', async () => {
  assert.deepEqual(readHookResult(true), { kind: 'allow' });
  assert.deepEqual(readHookResult(false), { kind: 'refuse', status: 403, reason: 'refused by the application' });
  assert.deepEqual(readHookResult({ status: 429, reason: 'slow down' }), {
    kind: 'refuse',
    status: 429,
    reason: 'slow down',
  });
  assert.deepEqual(readHookResult({ extra: { a: 1 } }), { kind: 'allow', extra: { a: 1 } });
  for (const bad of [undefined, null, 1, 'yes', [], { status: 200 }, { status: 403, reason: 5 }, { extra: 1 }, {}]) {
    assert.equal(readHookResult(bad).kind, 'invalid', JSON.stringify(bad));
  }
  const throwing = new Authorizer({
    authorize: () => {
      throw new Error('nope');
    },
  });
  const d = await throwing.authorize(identity('a@R'), { frontend: 'http', remoteAddress: undefined });
  assert.deepEqual(d, {
    allowed: false,
    status: 500,
    rule: 'hook',
    reason: 'the authorize hook threw: nope',
    failed: true,
  });
  // The rules run first: a refused client never reaches the hook.
  let called = false;
  const ruled = new Authorizer({ rules: { allowRealms: ['R'] }, authorize: () => (called = true) });
  const refused = await ruled.authorize(identity('a@S'), { frontend: 'ws', remoteAddress: undefined });
  assert.equal(refused.allowed, false);
  assert.equal(called, false);
  assert.equal(new Authorizer().empty, true);
});
