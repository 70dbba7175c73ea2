/**
 * The realm's profile text (src/realm/profiles.ts): parsed back as MIT's profile format, each
 * setting the realm depends on is where MIT looks for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { kdcConf, krb5Conf, writeProfiles } from '../../src/realm/profiles.js';

type Profile = Map<string, Map<string, string | Map<string, string>>>;

/** A small reader of MIT's profile syntax: [section], `key = value`, `key = { ... }` one level deep. */
function parseProfile(text: string): Profile {
  const sections: Profile = new Map();
  let section: Map<string, string | Map<string, string>> | undefined;
  let block: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      assert.equal(block, undefined, `section ${line} opened inside a { } block`);
      section = new Map();
      sections.set(header[1] ?? '', section);
      continue;
    }
    assert.ok(section, `"${line}" is outside any section`);
    if (line === '}') {
      assert.ok(block, 'a } closes nothing');
      block = undefined;
      continue;
    }
    const kv = /^(\S+) = (.*)$/.exec(line);
    assert.ok(kv, `"${line}" is not "key = value"`);
    const [, key = '', value = ''] = kv;
    if (value === '{') {
      block = new Map();
      section.set(key, block);
    } else {
      (block ?? section).set(key, value);
    }
  }
  assert.equal(block, undefined, 'a { block is never closed');
  return sections;
}

function get(p: Profile, section: string, ...keys: string[]): string | undefined {
  let node: string | Map<string, string | Map<string, string>> | Map<string, string> | undefined = p.get(section);
  for (const key of keys) node = node instanceof Map ? node.get(key) : undefined;
  return typeof node === 'string' ? node : undefined;
}

const client = { realm: 'EXAMPLE.TEST', kdcPort: 61088, ccache: '/r/ccache', keytab: '/r/keytab' };
const kdc = {
  realm: 'EXAMPLE.TEST',
  kdcPort: 61088,
  database: '/r/principal',
  stash: '/r/stash',
  kdcLog: '/r/kdc.log',
};

test('krb5Conf: the realm is the default, its only KDC is 127.0.0.1:port, localhost maps to it', () => {
  const p = parseProfile(krb5Conf(client));
  assert.equal(get(p, 'libdefaults', 'default_realm'), 'EXAMPLE.TEST');
  assert.equal(get(p, 'realms', 'EXAMPLE.TEST', 'kdc'), '127.0.0.1:61088');
  assert.equal(get(p, 'domain_realm', 'localhost'), 'EXAMPLE.TEST');
  assert.equal(get(p, 'domain_realm', '.localhost'), 'EXAMPLE.TEST');
});

test("krb5Conf: no DNS, no reverse lookups, TCP always, forwardable tickets, the realm's ccache and keytab", () => {
  const p = parseProfile(krb5Conf(client));
  for (const key of ['dns_lookup_kdc', 'dns_lookup_realm', 'dns_canonicalize_hostname', 'rdns']) {
    assert.equal(get(p, 'libdefaults', key), 'false', key);
  }
  assert.equal(get(p, 'libdefaults', 'udp_preference_limit'), '1');
  assert.equal(get(p, 'libdefaults', 'forwardable'), 'true');
  assert.equal(get(p, 'libdefaults', 'default_ccache_name'), 'FILE:/r/ccache');
  assert.equal(get(p, 'libdefaults', 'default_keytab_name'), 'FILE:/r/keytab');
});

test("krb5Conf: realm settings go into the realm's own stanza, after its KDC", () => {
  const lines = ['auth_to_local = RULE:[1:$1@$0](^alice@.*$)s/@.*$/_x/', 'admin_server = 127.0.0.1:1'];
  const text = krb5Conf({ ...client, realmSettings: lines });
  const p = parseProfile(text);
  assert.equal(get(p, 'realms', 'EXAMPLE.TEST', 'admin_server'), '127.0.0.1:1');
  assert.equal(get(p, 'realms', 'EXAMPLE.TEST', 'kdc'), '127.0.0.1:61088');
  const indented = lines.map((l) => `        ${l}\n`).join('');
  const stanza = `    EXAMPLE.TEST = {\n        kdc = 127.0.0.1:61088\n${indented}    }\n`;
  assert.ok(text.includes(stanza), text);
  assert.equal(krb5Conf(client).includes('auth_to_local'), false, 'none by default');
});

test('kdcConf: the KDC listens on 127.0.0.1:port only, TCP and UDP', () => {
  const p = parseProfile(kdcConf(kdc));
  assert.equal(get(p, 'kdcdefaults', 'kdc_listen'), '127.0.0.1:61088');
  assert.equal(get(p, 'kdcdefaults', 'kdc_tcp_listen'), '127.0.0.1:61088');
  assert.equal(get(p, 'kdcdefaults', 'kdc_ports'), '61088');
  assert.equal(get(p, 'kdcdefaults', 'kdc_tcp_ports'), '61088');
});

test('kdcAddress: the KDC listens on that one address and krb5.conf sends clients there', () => {
  const k = parseProfile(kdcConf({ ...kdc, kdcAddress: '10.77.40.2' }));
  assert.equal(get(k, 'kdcdefaults', 'kdc_listen'), '10.77.40.2:61088');
  assert.equal(get(k, 'kdcdefaults', 'kdc_tcp_listen'), '10.77.40.2:61088');
  const c = parseProfile(krb5Conf({ ...client, kdcAddress: '10.77.40.2' }));
  assert.equal(get(c, 'realms', 'EXAMPLE.TEST', 'kdc'), '10.77.40.2:61088');
});

test('kdcConf: database, stash and log inside the realm; AES only; pre-authentication required', () => {
  const p = parseProfile(kdcConf(kdc));
  assert.equal(get(p, 'realms', 'EXAMPLE.TEST', 'database_name'), '/r/principal');
  assert.equal(get(p, 'realms', 'EXAMPLE.TEST', 'key_stash_file'), '/r/stash');
  assert.equal(get(p, 'logging', 'kdc'), 'FILE:/r/kdc.log');
  assert.equal(get(p, 'logging', 'default'), 'FILE:/r/kdc.log');
  const enctypes = get(p, 'realms', 'EXAMPLE.TEST', 'supported_enctypes') ?? '';
  const names = enctypes.split(' ').map((e) => e.split(':')[0]);
  assert.deepEqual(names, ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96']);
  assert.equal(get(p, 'realms', 'EXAMPLE.TEST', 'default_principal_flags'), '+preauth');
});

test('writeProfiles writes both files (0644), and a second call with a new port replaces them', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-test-'));
  try {
    const profiles = { krb5Config: path.join(dir, 'krb5.conf'), kdcProfile: path.join(dir, 'kdc.conf') };
    const files = { ...client, ...kdc, ...profiles };
    await writeProfiles(files, { realm: 'EXAMPLE.TEST', kdcPort: 1000 });
    await writeProfiles(files, { realm: 'EXAMPLE.TEST', kdcPort: 2000 });
    const written = parseProfile(await fs.readFile(files.krb5Config, 'utf8'));
    assert.equal(get(written, 'realms', 'EXAMPLE.TEST', 'kdc'), '127.0.0.1:2000');
    assert.equal(await fs.readFile(files.kdcProfile, 'utf8'), kdcConf({ ...kdc, kdcPort: 2000 }));
    for (const f of [files.krb5Config, files.kdcProfile]) assert.equal((await fs.stat(f)).mode & 0o777, 0o644, f);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
