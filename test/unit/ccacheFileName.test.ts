/**
 * ccacheFileName: a principal's delegated ccache is always one plain file in the delegation
 * directory, whatever the principal (a hostile KDC or cross-realm trust may hand us any bytes),
 * and two principals never share one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ccacheFileName } from '../../src/delegation/ccacheFileName.js';

const DIR = '/var/lib/negotiate/delegated';

/** The name, asserted to stay a direct child of DIR. */
function nameOf(principal: string): string {
  const name = ccacheFileName(principal);
  assert.ok(name !== undefined, `a name for ${JSON.stringify(principal)}`);
  assert.equal(path.dirname(path.join(DIR, name)), DIR, `${JSON.stringify(principal)} stays in the directory`);
  assert.equal(path.basename(path.join(DIR, name)), name);
  assert.doesNotMatch(name, /[/\0\\]/);
  assert.notEqual(name, '.');
  assert.notEqual(name, '..');
  assert.ok(!name.startsWith('.'), 'never a leading dot (temporary files and . / ..)');
  assert.ok(Buffer.byteLength(name) <= 200, 'fits a file name');
  return name;
}

test('ordinary principals read as themselves', () => {
  assert.equal(nameOf('alice@KRBTEST.COM'), 'alice@KRBTEST.COM');
  assert.equal(nameOf('a.b-c_d+e=f,g@R'), 'a.b-c_d+e=f,g@R');
});

test('separators, traversal and NUL are escaped', () => {
  assert.equal(nameOf('HTTP/www@EXAMPLE.COM'), 'HTTP%2Fwww@EXAMPLE.COM');
  assert.equal(nameOf('../../etc/passwd'), '%2E.%2F..%2Fetc%2Fpasswd');
  assert.equal(nameOf('..'), '%2E.');
  assert.equal(nameOf('.'), '%2E');
  assert.equal(nameOf('.deleg-abc'), '%2Edeleg-abc');
  assert.equal(nameOf('a\0b'), 'a%00b');
  assert.equal(nameOf('a\\b'), 'a%5Cb');
  assert.equal(nameOf('a\nb'), 'a%0Ab');
  assert.equal(nameOf('KRBTEST\\alice'), 'KRBTEST%5Calice');
});

test('the escape character itself and non-ASCII are escaped, so the mapping stays one-to-one', () => {
  assert.equal(nameOf('a%2Fb'), 'a%252Fb');
  assert.notEqual(nameOf('a%2Fb'), nameOf('a/b'));
  assert.equal(nameOf('é@R'), '%C3%A9@R');
  const hostile = ['/', '//', '/..', '../', 'a/../b', '~', '%', '%25', '\u2215', '\uff0f', ' ', 'a b', '*', '?'];
  const names = hostile.map(nameOf);
  assert.equal(new Set(names).size, hostile.length, 'no two share a name');
});

test('long principals are shortened with a hash: bounded, and still one file each', () => {
  const a = `${'x'.repeat(300)}@A`;
  const b = `${'x'.repeat(300)}@B`;
  assert.notEqual(nameOf(a), nameOf(b));
  assert.match(nameOf(a), /~[0-9a-f]{64}$/);
  // A short name never contains '~' (it is escaped), so it cannot equal a shortened one.
  assert.equal(nameOf('~'), '%7E');
  assert.equal(nameOf(`${'/'.repeat(100)}`).length <= 200, true);
});

test('no name for a principal that cannot have a file of its own', () => {
  assert.equal(ccacheFileName(''), undefined);
  assert.equal(ccacheFileName('al\uFFFDce@R'), undefined, 'bytes that were not UTF-8 could make two principals one');
});
