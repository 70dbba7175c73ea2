/**
 * Pins the `negotiate-server/adapter` subpath's public surface, and that the package's
 * "exports" map resolves it (imported here by the package's own name, as a user would) while
 * the main entry keeps working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('negotiate-server/adapter exports exactly these names', async () => {
  const adapter = await import('negotiate-server/adapter');
  assert.deepEqual(Object.keys(adapter).sort(), [
    'ADAPTER_MULTI_LEG_REFUSAL',
    'AuthPool',
    'CHALLENGE_BODY',
    'CONTINUE_BODY',
    'HandshakesPerAddress',
    'NO_TICKET_BODY',
    'NegotiateAuthenticator',
    'headerLimitFor',
  ]);
  assert.equal(typeof adapter.NegotiateAuthenticator.create, 'function');
});

test('the main entry still resolves through "exports"', async () => {
  const main = await import('negotiate-server');
  assert.equal(typeof main.NegotiateServer.start, 'function');
});

test('a deep import into dist/ is refused by "exports" (only the documented entry points are public)', async () => {
  // A variable, so the compiler does not try to resolve the specifier.
  const deep: string = 'negotiate-server/dist/src/index.js';
  await assert.rejects(import(deep), {
    code: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
  });
});
