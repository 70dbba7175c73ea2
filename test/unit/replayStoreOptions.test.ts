/**
 * `--replay-cache redis://...` and its flags: what the CLI maps them to, what is refused, and
 * that a password in the URL never reaches a message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServeFlags } from '../../src/cli/serveFlags.js';
import type { ServeInvocation } from '../../src/cli/flagTable.js';
import { ConfigError } from '../../src/errors.js';
import { resolveServerOptions } from '../../src/options.js';
import { toNativeCredentials } from '../../src/pool/credentials.js';
import { checkRedisUrl, redactRedisUrl } from '../../src/replay/redisUrl.js';

function parsed(args: string[]): ServeInvocation {
  const r = parseServeFlags(args);
  if (r === 'help') throw new Error('unexpected help');
  return r;
}

test('the flags map onto credentials.replayCache and sharedReplayCache, with defaults filled on resolve', () => {
  const inv = parsed([
    '--replay-cache',
    'redis://127.0.0.1:6379/2',
    '--replay-cache-prefix',
    'app1:',
    '--replay-cache-timeout',
    '150',
    '--replay-cache-fallback',
    'memory',
  ]);
  assert.equal(inv.options.credentials.replayCache, 'redis://127.0.0.1:6379/2');
  assert.deepEqual(inv.options.credentials.sharedReplayCache, { prefix: 'app1:', timeoutMs: 150, fallback: 'memory' });
  const resolved = resolveServerOptions(inv.options);
  assert.deepEqual(resolved.sharedReplayCache, {
    prefix: 'app1:',
    timeoutMs: 150,
    fallback: 'memory',
    maxPending: 4096,
  });
  const plain = resolveServerOptions(parsed(['--replay-cache', 'rediss://cache.example:6380']).options);
  assert.deepEqual(plain.sharedReplayCache, {
    prefix: 'negotiate:rc:',
    timeoutMs: 200,
    fallback: 'none',
    maxPending: 4096,
  });
});

test("Redis mode turns MIT's cache off and asks for the shared tag; the memory fallback adds the local cache", () => {
  assert.deepEqual(toNativeCredentials({ replayCache: 'redis://h:1' }), { ntlm: false, sharedReplayTag: true });
  assert.deepEqual(toNativeCredentials({ replayCache: 'redis://h:1', sharedReplayCache: { fallback: 'memory' } }), {
    ntlm: false,
    sharedReplayTag: true,
    memoryReplayCache: true,
  });
});

test('bad values are refused with ERR_CONFIG', () => {
  for (const args of [
    ['--replay-cache-fallback', 'file'],
    ['--replay-cache-timeout', '0'],
    ['--replay-cache', 'redis://'],
    ['--replay-cache', 'redis://h:1/db'],
    ['--replay-cache', 'redis://h:1/0?x=1'],
    ['--replay-cache', 'memcached://h:1'],
  ]) {
    assert.throws(
      () => resolveServerOptions(parsed(args).options),
      (e: unknown) => e instanceof ConfigError && e.code === 'ERR_CONFIG',
      args.join(' '),
    );
  }
  assert.throws(
    () =>
      resolveServerOptions({
        credentials: { sharedReplayCache: { prefix: 'has space' }, replayCache: 'redis://h:1' },
        http: {},
      }),
    ConfigError,
  );
});

test('a password in the URL is redacted wherever the URL is shown', () => {
  assert.equal(redactRedisUrl('redis://user:s3cret@h:6379/1'), 'redis://user:***@h:6379/1');
  assert.equal(redactRedisUrl('rediss://:s3cret@h:6379'), 'rediss://:***@h:6379');
  assert.equal(redactRedisUrl('redis://h:6379'), 'redis://h:6379');
  for (const bad of ['redis://user:s3cret@h:1/db', 'redis://user:s3cret@h:1/0?x']) {
    assert.throws(
      () => checkRedisUrl(bad as `redis://${string}`),
      (e: unknown) => e instanceof ConfigError && !e.message.includes('s3cret') && e.message.includes('***'),
    );
  }
});
