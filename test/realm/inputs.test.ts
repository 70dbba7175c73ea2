/** What a realm accepts before it writes anything (src/realm/inputs.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ConfigError } from '../../src/errors.js';
import { checkPrincipal, checkRealmInputs, randomSecret } from '../../src/realm/inputs.js';

const good = { dir: '/tmp/realm', realm: 'KRBTEST.COM', user: 'alice', password: 'pw', kdcPort: undefined };

function refused(fn: () => void, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'ERR_REALM');
    assert.match(err.message, pattern);
    return true;
  });
}

test('checkRealmInputs accepts ordinary names, a password with spaces and quotes, ports 1 and 65535', () => {
  checkRealmInputs(good);
  checkRealmInputs({ ...good, realm: 'A.B-C.D', user: 'bob.x_y-z', password: `p w "'$\\`, kdcPort: 1 });
  checkRealmInputs({ ...good, kdcPort: 65535 });
});

test('checkRealmInputs refuses what would break a profile line, a kadmin query or a prompt', () => {
  refused(() => checkRealmInputs({ ...good, dir: '/tmp/a"b' }), /unusable realm directory/);
  refused(() => checkRealmInputs({ ...good, dir: '/tmp/a\nb' }), /unusable realm directory/);
  refused(() => checkRealmInputs({ ...good, dir: '/tmp/a\\b' }), /unusable realm directory/);
  for (const realm of ['', '.KRB', 'KRB.', 'K RB', 'K"RB', 'K}RB']) {
    refused(() => checkRealmInputs({ ...good, realm }), /invalid realm name/);
  }
  for (const user of ['', 'a b', 'a/b', 'a@b', 'a"b']) {
    refused(() => checkRealmInputs({ ...good, user }), /invalid user name/);
  }
  for (const password of ['', 'a\nb', 'a\rb', 'a\0b']) {
    refused(() => checkRealmInputs({ ...good, password }), /invalid password/);
  }
  for (const kdcPort of [0, 65536, 1.5, -1]) refused(() => checkRealmInputs({ ...good, kdcPort }), /invalid kdcPort/);
  checkRealmInputs({ ...good, kdcAddress: '10.77.40.2' });
  for (const kdcAddress of ['', 'localhost', '10.77.40', '10.77.40.256', '01.2.3.4', '::1', '1.2.3.4:88']) {
    refused(() => checkRealmInputs({ ...good, kdcAddress }), /invalid kdcAddress/);
  }
});

test('checkPrincipal: name, name/instance, with or without @REALM; nothing a kadmin query could misread', () => {
  for (const name of ['alice', 'host/localhost', 'HTTP/www.example.com@EXAMPLE.COM', 'a/b/c']) checkPrincipal(name);
  for (const name of ['', 'a b', 'a"', 'a;b', '/x', 'x/', 'a@', '-q x']) {
    refused(() => checkPrincipal(name), /invalid principal name/);
  }
});

test('randomSecret: 24 base64url characters, different each time, never a leading dash', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const s = randomSecret();
    assert.match(s, /^[A-Za-z0-9_][A-Za-z0-9_-]{23}$/);
    seen.add(s);
  }
  assert.equal(seen.size, 2000);
});

test('checkRealmInputs: realm settings are single "key = value" lines that cannot open or close a stanza', () => {
  checkRealmInputs({
    ...good,
    realmSettings: ['auth_to_local = RULE:[1:$1@$0](^a@R$)s/@.*$//', 'auth_to_local = DEFAULT'],
  });
  for (const line of ['auth_to_local', '= x', 'a = b\nkdc = evil', 'a = }', 'a = {', 'x y = z', 'a = b\0']) {
    refused(() => checkRealmInputs({ ...good, realmSettings: [line] }), /invalid realm setting/);
  }
});
