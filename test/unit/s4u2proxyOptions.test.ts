/** `--s4u2proxy` / credentials.s4u2proxy: parsed, resolved, and refused at start without its needs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { toNativeCredentials } from '../../src/pool/credentials.js';
import { resolveServerOptions } from '../../src/options.js';
import { parseServeFlags } from '../../src/cli/serveFlags.js';
import type { ServeInvocation } from '../../src/cli/flagTable.js';

function parseServeArgs(args: string[]): ServeInvocation {
  const inv = parseServeFlags(args);
  assert.notEqual(inv, 'help');
  if (inv === 'help') throw new Error('help');
  return inv;
}

test('--s4u2proxy sets credentials.s4u2proxy; the native credential then initiates too', () => {
  const inv = parseServeArgs(['--s4u2proxy', '--delegation-dir', '/run/deleg']);
  assert.equal(inv.options.credentials.s4u2proxy, true);
  assert.equal(resolveServerOptions(inv.options).s4u2proxy, true);
  assert.equal(resolveServerOptions(parseServeArgs([]).options).s4u2proxy, false);
  const native = toNativeCredentials({ s4u2proxy: true, delegationDir: '/run/deleg' });
  assert.equal(native.s4u2proxy, true);
  assert.equal(native.delegationDir, '/run/deleg');
  assert.equal(toNativeCredentials({ delegationDir: '/run/deleg' }).s4u2proxy, undefined);
});

test('refused without a delegation directory, and with NTLM', () => {
  assert.throws(
    () => toNativeCredentials({ s4u2proxy: true }),
    (e: unknown) => e instanceof ConfigError && e.code === 'ERR_CONFIG' && /--delegation-dir/.test(e.message),
  );
  assert.throws(
    () => toNativeCredentials({ s4u2proxy: true, delegationDir: '/run/deleg', ntlm: true }),
    (e: unknown) => e instanceof ConfigError && /NTLM/.test(e.message),
  );
  assert.throws(() => resolveServerOptions({ credentials: { s4u2proxy: 'yes' as unknown as boolean } }), ConfigError);
});
