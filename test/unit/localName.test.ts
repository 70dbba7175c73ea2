/** Local names computed in TypeScript: principal parsing and the strip-realm rule. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLocalNameMode, localNameOf, splitPrincipal } from '../../src/pool/localName.js';

test('splitPrincipal: the last unescaped @ separates the realm; / counts components', () => {
  assert.deepEqual(splitPrincipal('alice@R.COM'), { name: 'alice', realm: 'R.COM', components: 1 });
  assert.deepEqual(splitPrincipal('HTTP/www@R.COM'), { name: 'HTTP/www', realm: 'R.COM', components: 2 });
  assert.deepEqual(splitPrincipal('a\\@b@R'), { name: 'a\\@b', realm: 'R', components: 1 });
  assert.deepEqual(splitPrincipal('a\\/b@R'), { name: 'a\\/b', realm: 'R', components: 1 });
  assert.deepEqual(splitPrincipal('R\\alice'), { name: 'R\\alice', realm: undefined, components: 1 });
  assert.deepEqual(splitPrincipal('alice@'), { name: 'alice', realm: '', components: 1 });
});

test('gss: what gss_localname answered, or none', () => {
  assert.equal(localNameOf('gss', { principal: 'alice@R', localName: 'alice_local' }), 'alice_local');
  assert.equal(localNameOf('gss', { principal: 'alice@R' }), undefined);
});

test('strip-realm: only a one-component principal of the service’s own realm', () => {
  const service = 'HTTP/www.example.com@EXAMPLE.COM';
  assert.equal(localNameOf('strip-realm', { principal: 'alice@EXAMPLE.COM', servicePrincipal: service }), 'alice');
  assert.equal(localNameOf('strip-realm', { principal: 'alice@OTHER.COM', servicePrincipal: service }), undefined);
  assert.equal(localNameOf('strip-realm', { principal: 'alice@example.com', servicePrincipal: service }), undefined);
  assert.equal(
    localNameOf('strip-realm', { principal: 'alice/admin@EXAMPLE.COM', servicePrincipal: service }),
    undefined,
  );
  assert.equal(localNameOf('strip-realm', { principal: '@EXAMPLE.COM', servicePrincipal: service }), undefined);
  assert.equal(localNameOf('strip-realm', { principal: 'EXAMPLE\\alice', servicePrincipal: service }), undefined);
  assert.equal(
    localNameOf('strip-realm', { principal: 'alice@EXAMPLE.COM' }),
    undefined,
    'no service principal: no guess',
  );
  // An escaped @ is part of the name, never the realm separator.
  assert.equal(
    localNameOf('strip-realm', { principal: 'a\\@OTHER.COM@EXAMPLE.COM', servicePrincipal: service }),
    'a\\@OTHER.COM',
  );
});

test('off: none, whatever the worker reported', () => {
  assert.equal(localNameOf('off', { principal: 'alice@R', localName: 'alice', servicePrincipal: 'h/x@R' }), undefined);
  assert.ok(isLocalNameMode('strip-realm'));
  assert.ok(isLocalNameMode('rules:/etc/x'));
  assert.ok(!isLocalNameMode('rules:'));
  assert.ok(!isLocalNameMode('rules'));
});
