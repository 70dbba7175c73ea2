/** The Basic credential parser (src/basic/basicHeader.ts): strict, bounded, never quoting the credentials. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  basicChallenge,
  basicRealmProblem,
  isBasicScheme,
  MAX_BASIC_PASSWORD_BYTES,
  parseBasicAuthorization,
} from '../../src/basic/basicHeader.js';

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

test('isBasicScheme: the scheme name, case-insensitive, and nothing else', () => {
  assert.equal(isBasicScheme('Basic YTpi'), true);
  assert.equal(isBasicScheme('basic YTpi'), true);
  assert.equal(isBasicScheme('  BASIC'), true);
  assert.equal(isBasicScheme('Negotiate YII='), false);
  assert.equal(isBasicScheme('Basically'), false);
  assert.equal(isBasicScheme(undefined), false);
});

test('a credential: the user up to the first colon, the password (a colon in it kept) in a Buffer of its own', () => {
  const r = parseBasicAuthorization(`Basic ${b64('alice@EXAMPLE.COM:pa:ss wörd')}`);
  assert.equal(r.kind, 'basic');
  if (r.kind !== 'basic') return;
  assert.equal(r.user, 'alice@EXAMPLE.COM');
  assert.equal(r.password.toString(), 'pa:ss wörd');
  assert.equal(r.password.byteOffset, 0, 'not a slice of a shared buffer');
  assert.equal(r.password.buffer.byteLength, r.password.length);
});

test('malformed credentials: 400, the message never quoting them', () => {
  const secret = 'S3cret-Value';
  const cases = [
    'Basic',
    'Basic    ',
    `Basic ${b64(`alice:${secret}`).slice(0, -1)}`,
    `Basic ${b64(`alice:${secret}`)} extra`,
    'Basic a$b=',
    `Basic ${b64(secret)}`,
    `Basic ${b64(`:${secret}`)}`,
    `Basic ${b64(`al\u0000ice:${secret}`)}`,
    `Basic ${b64(`al\u001bice:${secret}`)}`,
    `Basic ${b64(`alice:${secret}\u0000x`)}`,
    `Basic ${b64(Buffer.from([0xc3, 0x28, 0x3a, 0x41]))}`,
    `Basic ${b64(`${'u'.repeat(257)}:${secret}`)}`,
  ];
  for (const header of cases) {
    const r = parseBasicAuthorization(header);
    assert.equal(r.kind, 'invalid', header);
    if (r.kind !== 'invalid') continue;
    assert.equal(r.status, 400, `${header}: ${r.message}`);
    assert.equal(r.code, 'ERR_BASIC_BAD_CREDENTIAL');
    assert.equal(r.message.includes(secret), false);
    assert.equal(r.message.includes('alice'), false);
  }
});

test('too large: 431 from the base64 length, before decoding; the password bound is exact', () => {
  const huge = parseBasicAuthorization(`Basic ${'A'.repeat(100_000)}`);
  assert.equal(huge.kind === 'invalid' && huge.status, 431);
  const atLimit = parseBasicAuthorization(`Basic ${b64(`a:${'p'.repeat(MAX_BASIC_PASSWORD_BYTES)}`)}`);
  assert.equal(atLimit.kind, 'basic');
  const over = parseBasicAuthorization(`Basic ${b64(`a:${'p'.repeat(MAX_BASIC_PASSWORD_BYTES + 1)}`)}`);
  assert.equal(over.kind, 'invalid');
});

test('realms: printable ASCII without quote or backslash; the challenge quotes it', () => {
  assert.equal(basicRealmProblem('EXAMPLE.COM'), undefined);
  assert.equal(basicChallenge('EXAMPLE.COM'), 'Basic realm="EXAMPLE.COM", charset="UTF-8"');
  for (const bad of ['', 'a"b', 'a\\b', 'a\r\nSet-Cookie: x', 'é', 'x'.repeat(129)])
    assert.notEqual(basicRealmProblem(bad), undefined, bad);
});
