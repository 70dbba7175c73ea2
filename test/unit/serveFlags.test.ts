/**
 * The `serve` flag table: --help and docs/configuration.md list every flag, and the flags map
 * onto the public options with the CLI's own listener rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseServeFlags, serveHelp, SERVE_FLAGS } from '../../src/cli/serveFlags.js';
import { flagLabel, UsageError, type ServeInvocation } from '../../src/cli/flagTable.js';
import { resolveServerOptions } from '../../src/options.js';
import { ConfigError } from '../../src/errors.js';

// Compiled to dist/test/unit/: the repository root is three levels up.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const rows = SERVE_FLAGS.flatMap((s) => s.rows);

function parsed(args: string[]): ServeInvocation {
  const r = parseServeFlags(args);
  assert.notEqual(r, 'help');
  if (r === 'help') throw new Error('unreachable');
  return r;
}

test('--help lists every flag of the table, with its placeholder', () => {
  const help = serveHelp();
  for (const row of rows) assert.ok(help.includes(`  ${flagLabel(row)}`), `--help lists ${flagLabel(row)}`);
  for (const section of SERVE_FLAGS) assert.ok(help.includes(`\n${section.title}:\n`), section.title);
  assert.ok(
    help.split('\n').every((l) => l.length <= 120),
    'no help line over 120 characters',
  );
});

test('docs/configuration.md documents every flag of the table, and no other', () => {
  const doc = readFileSync(path.join(ROOT, 'docs', 'configuration.md'), 'utf8');
  for (const row of rows) {
    const heading = `\`--${row.name}${row.type === 'string' ? ` ${row.placeholder}` : ''}\``;
    assert.ok(doc.includes(heading), `docs/configuration.md has ${heading}`);
  }
  const documented = [...doc.matchAll(/^### .*?`--([a-z0-9-]+)/gm)].map((m) => m[1]);
  assert.deepEqual(
    documented.filter((f) => !rows.some((r) => r.name === f)),
    [],
    'documented flags missing from the table',
  );
});

test('no listener flag: all three listeners at their defaults, HTTP with /ws', () => {
  const { options, logLevel } = parsed([]);
  assert.deepEqual(options.tcp, {
    sspi: { host: '127.0.0.1', port: 2000 },
    gssSample: { host: '127.0.0.1', port: 4444 },
  });
  assert.deepEqual(options.http, { host: '127.0.0.1', port: 8080, ws: { path: '/ws' } });
  assert.equal(options.admin, undefined);
  assert.equal(logLevel, 'info');
  resolveServerOptions(options);
});

test('a listener flag names the only listeners; --admin does not count as one', () => {
  const { options } = parsed(['--gss-sample', '0', '--admin', '[::1]:9100']);
  assert.deepEqual(options.tcp, { gssSample: { host: '127.0.0.1', port: 0 } });
  assert.equal(options.http, undefined);
  assert.deepEqual(options.admin, { host: '::1', port: 9100 });
  assert.deepEqual(parsed(['--admin', '9100']).options.tcp.sspi, { host: '127.0.0.1', port: 2000 });
});

test('flags map onto the nested options', () => {
  const { options, logLevel } = parsed([
    '--keytab',
    '/k',
    '--principal',
    'HTTP@h',
    '--ntlm',
    '--ntlm-users',
    '/u',
    '--replay-cache',
    'memory',
    '--replay-cache-size',
    '100',
    '--replay-cache-principal-quota',
    '10',
    '--require-flags',
    'mutual,replay',
    '--sspi',
    '0',
    '--gss-sample',
    '0',
    '--gss-sample-allow-unauthenticated',
    '--greeting',
    'hi',
    '--workers',
    '3',
    '--max-token',
    '1024',
    '--max-handshakes-per-address',
    '5',
    '--shutdown-grace',
    '0',
    '--log-level',
    'warn',
  ]);
  assert.deepEqual(options.credentials, {
    keytab: '/k',
    principal: 'HTTP@h',
    ntlm: true,
    ntlmUsers: '/u',
    replayCache: 'memory',
    replayCacheSize: 100,
    replayCachePrincipalQuota: 10,
    requireFlags: ['mutual', 'replay'],
  });
  assert.deepEqual(options.tcp, {
    sspi: { host: '127.0.0.1', port: 0, greeting: 'hi' },
    gssSample: { host: '127.0.0.1', port: 0, allowUnauthenticated: true },
  });
  assert.equal(options.workers, 3);
  assert.deepEqual(options.limits, { maxTokenBytes: 1024, maxHandshakesPerAddress: 5 });
  assert.equal(options.shutdownGraceMs, 0);
  assert.equal(logLevel, 'warn');
});

test('a principal per front end: --sspi-principal, --gss-sample-principal, --http-principal', () => {
  const { options } = parsed(['--http-principal', 'HTTP/h@R', '--sspi-principal', 'host/h@R']);
  assert.deepEqual(options.credentials.frontendPrincipals, { sspi: 'host/h@R', http: 'HTTP/h@R' });
  assert.deepEqual(resolveServerOptions(options).frontendPrincipals, { sspi: 'host/h@R', http: 'HTTP/h@R' });
  assert.throws(
    () => parseServeFlags(['--gss-sample-principal', ' ']),
    (e: unknown) => e instanceof ConfigError && /--gss-sample-principal needs/.test(e.message),
  );
});

test('HTTP rows act on the HTTP listener, in table order whatever the argument order', () => {
  assert.equal(parsed(['--http', '0', '--ws', 'none']).options.http?.ws, undefined);
  assert.deepEqual(parsed(['--http', '0', '--ws', '/chat']).options.http?.ws, { path: '/chat' });
  // The cookie's flags only mean something with --session-cookie: no cookie from --cookie-secure alone.
  assert.equal(parsed(['--http', '0', '--cookie-secure']).options.http?.sessionCookie, undefined);
  assert.deepEqual(parsed(['--cookie-secure', '--session-cookie', '60', '--http', '0']).options.http?.sessionCookie, {
    ttlSeconds: 60,
    secure: true,
  });
  assert.equal(parsed(['--sspi', '0', '--session-cookie', '60']).options.http, undefined);
  assert.throws(
    () => parsed(['--sspi', '0', '--ws', '/ws']),
    (e: unknown) => e instanceof UsageError && /--ws needs an HTTP listener/.test(e.message),
  );
});

test('TLS rows: --tls-cert with --tls-key in any order, --channel-binding; each needs the HTTP listener', () => {
  const http = parsed(['--channel-binding', 'required', '--tls-key', 'k.pem', '--http', '0', '--tls-cert', 'c.pem'])
    .options.http;
  assert.deepEqual(http?.tls, { certFile: 'c.pem', keyFile: 'k.pem' });
  assert.equal(http?.channelBinding, 'required');
  // The default listeners include HTTP.
  assert.deepEqual(parsed(['--tls-cert', 'c.pem', '--tls-key', 'k.pem']).options.http?.tls, {
    certFile: 'c.pem',
    keyFile: 'k.pem',
  });
  const usage = (args: string[], message: RegExp): void =>
    assert.throws(
      () => parsed(args),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
  usage(['--http', '0', '--tls-cert', 'c.pem'], /--tls-cert needs --tls-key/);
  usage(['--http', '0', '--tls-key', 'k.pem'], /--tls-key needs --tls-cert/);
  usage(['--sspi', '0', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'], /--tls-cert needs an HTTP listener/);
  usage(['--http', '0', '--channel-binding', 'always'], /--channel-binding must be off, when-supported, required/);
  // `required` without TLS is the options' refusal (ERR_CONFIG), as from the library.
  assert.throws(
    () => resolveServerOptions(parsed(['--http', '0', '--channel-binding', 'required']).options),
    (e: unknown) => e instanceof ConfigError && /needs TLS/.test(e.message),
  );
});

test('usage and value errors name the flag', () => {
  assert.equal(parseServeFlags(['--workers', '2', '-h']), 'help');
  assert.throws(
    () => parseServeFlags(['--nope']),
    (e: unknown) => e instanceof UsageError && /--nope/.test(e.message),
  );
  assert.throws(
    () => parseServeFlags(['--sspi']),
    (e: unknown) => e instanceof UsageError,
  );
  assert.throws(
    () => parseServeFlags(['--max-token', '5']),
    (e: unknown) => e instanceof ConfigError && e.message === '--max-token must be between 16 and 16777216, not 5',
  );
  assert.throws(
    () => parseServeFlags(['--http', 'x:y']),
    (e: unknown) => e instanceof ConfigError && /^--http expects HOST:PORT/.test(e.message),
  );
});

test('after-authentication flags: repeatable rules accumulate in argv order; local name and delegation dir', () => {
  const inv = parsed([
    '--allow-realm',
    'A.EXAMPLE',
    '--allow-realm',
    'B.EXAMPLE',
    '--allow-principal',
    'alice@C.EXAMPLE',
    '--require-group',
    'S-1-5-21-1-2-3-512',
    '--local-name',
    'gss',
    '--delegation-dir',
    '/var/lib/ccaches',
  ]);
  assert.deepEqual(inv.options.authorization, {
    allowRealms: ['A.EXAMPLE', 'B.EXAMPLE'],
    allowPrincipals: ['alice@C.EXAMPLE'],
    requireGroups: ['S-1-5-21-1-2-3-512'],
  });
  assert.equal(inv.options.credentials.localName, 'gss');
  assert.equal(inv.options.credentials.delegationDir, '/var/lib/ccaches');
  const resolved = resolveServerOptions(inv.options);
  assert.equal(resolved.localName, 'gss');
  assert.deepEqual([...resolved.authorizer.policy.allowRealms], ['A.EXAMPLE', 'B.EXAMPLE']);
  assert.throws(() => parsed(['--local-name', 'upper']), ConfigError);
  // A group name is refused at start: only SIDs (a name needs a directory lookup).
  assert.throws(
    () => resolveServerOptions(parsed(['--require-group', 'Domain Admins']).options),
    (e: unknown) => e instanceof ConfigError && /not a SID/.test(e.message),
  );
});
