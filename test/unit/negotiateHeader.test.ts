/**
 * parseAuthorization / formatWwwAuthenticate: the RFC 4559 header grammar, strict base64, and
 * the length bound checked before decoding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  base64Length,
  base64Problem,
  formatWwwAuthenticate,
  parseAuthorization,
  type ParsedAuthorization,
} from '../../src/framing/negotiateHeader.js';

const MAX = 65536;

function invalid(r: ParsedAuthorization): Extract<ParsedAuthorization, { kind: 'invalid' }> {
  assert.equal(r.kind, 'invalid', `expected a failure, got ${JSON.stringify(r)}`);
  return r;
}

test('absent or blank header is none', () => {
  assert.deepEqual(parseAuthorization(undefined, MAX), { kind: 'none' });
  assert.deepEqual(parseAuthorization('', MAX), { kind: 'none' });
  assert.deepEqual(parseAuthorization('  \t ', MAX), { kind: 'none' });
});

test('Negotiate token decodes; scheme is case-insensitive; surrounding whitespace ignored', () => {
  const token = randomBytes(100);
  const b64 = token.toString('base64');
  for (const v of [
    `Negotiate ${b64}`,
    `negotiate ${b64}`,
    `NEGOTIATE ${b64}`,
    `  Negotiate   ${b64} \t`,
    `Negotiate\t${b64}`,
  ]) {
    const r = parseAuthorization(v, MAX);
    assert.equal(r.kind, 'negotiate', v);
    assert.ok(r.kind === 'negotiate' && r.token.equals(token));
  }
});

test('every padding length round-trips', () => {
  for (const n of [1, 2, 3, 4, 5, 6]) {
    const t = randomBytes(n);
    const r = parseAuthorization(`Negotiate ${t.toString('base64')}`, MAX);
    assert.ok(r.kind === 'negotiate' && r.token.equals(t), `length ${n}`);
  }
});

test('other schemes are refused by name', () => {
  for (const scheme of ['NTLM', 'Basic', 'Bearer', 'Digest', 'Kerberos']) {
    const r = invalid(parseAuthorization(`${scheme} TlRMTVNTUAABAAAA`, MAX));
    assert.equal(r.code, 'ERR_HTTP_UNSUPPORTED_SCHEME');
    assert.equal(r.scheme, scheme);
    assert.match(r.message, new RegExp(`"${scheme}"`));
  }
  // A scheme alone, without credentials.
  assert.equal(invalid(parseAuthorization('NTLM', MAX)).scheme, 'NTLM');
});

test('a garbage or huge scheme is refused without echoing it', () => {
  const r = invalid(parseAuthorization('"secret" abc', MAX));
  assert.equal(r.code, 'ERR_HTTP_UNSUPPORTED_SCHEME');
  assert.equal(r.scheme, undefined);
  assert.doesNotMatch(r.message, /secret/);
  const long = invalid(parseAuthorization(`${'A'.repeat(10_000)} x`, MAX));
  assert.equal(long.scheme, undefined);
  assert.ok(long.message.length < 200);
  // "Negotiate" as a prefix of a longer word is not Negotiate.
  assert.equal(invalid(parseAuthorization('NegotiateX YWJj', MAX)).code, 'ERR_HTTP_UNSUPPORTED_SCHEME');
});

test('Negotiate without a token is a bad Authorization', () => {
  for (const v of ['Negotiate', 'Negotiate ', 'negotiate \t ']) {
    const r = invalid(parseAuthorization(v, MAX));
    assert.equal(r.code, 'ERR_HTTP_BAD_AUTHORIZATION', JSON.stringify(v));
    assert.match(r.message, /no token/);
  }
});

test('strict base64: bad characters, inner whitespace, url alphabet, bad padding', () => {
  const cases: Array<[string, RegExp]> = [
    ['YWJj ZGVm', /whitespace/],
    ['YWJj\tZGVm', /whitespace/],
    ['YW-j', /characters/],
    ['YW_j', /characters/],
    ['YWJ!', /characters/],
    ['YQ=A', /characters/],
    ['=YWJ', /characters/],
    ['YWJjZA', /multiple of 4/],
    ['YWJjZ', /multiple of 4/],
    ['YQ===', /characters|multiple of 4/],
    ['YR==', /padding/], // 'R' leaves non-zero unused bits
    ['YWK=', /padding/],
    ['!!!!', /characters/],
    ['é', /characters/],
  ];
  for (const [text, why] of cases) {
    const r = invalid(parseAuthorization(`Negotiate ${text}`, MAX));
    assert.equal(r.code, 'ERR_HTTP_BAD_AUTHORIZATION', text);
    assert.match(r.message, why, text);
  }
});

test('random near-base64 text: a token exactly when base64Problem finds none (the fast decode agrees)', () => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const odd = '=-_ \t.\u00e9\u0100\u20ac!*%\0';
  let seed = 14;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    const length = 4 * (1 + next(4)) + (next(10) === 0 ? next(3) : 0);
    let text = '';
    for (let k = 0; k < length; k++) {
      const r = next(100);
      text += r < 85 ? alphabet[next(64)] : r < 95 ? '=' : odd[next(odd.length)];
    }
    const r = parseAuthorization(`Negotiate ${text}`, MAX);
    const canonical = base64Problem(text) === undefined;
    assert.equal(r.kind, canonical ? 'negotiate' : 'invalid', JSON.stringify(text));
    if (r.kind === 'negotiate') {
      accepted++;
      assert.equal(r.token.toString('base64'), text);
    }
  }
  assert.ok(accepted > 1000, `only ${accepted} canonical strings drawn`);
});

test('a token of only padding is refused', () => {
  assert.equal(invalid(parseAuthorization('Negotiate ====', MAX)).code, 'ERR_HTTP_BAD_AUTHORIZATION');
});

test('the length bound is on the base64 text, exact at the limit', () => {
  assert.equal(base64Length(48_000), 64_000);
  assert.equal(base64Length(65536), 87384);
  const atLimit = randomBytes(48_000);
  const ok = parseAuthorization(`Negotiate ${atLimit.toString('base64')}`, 48_000);
  assert.ok(ok.kind === 'negotiate' && ok.token.length === 48_000);
  const over = invalid(parseAuthorization(`Negotiate ${randomBytes(48_001).toString('base64')}`, 48_000));
  assert.equal(over.code, 'ERR_HTTP_HEADER_TOO_LARGE');
  assert.match(over.message, /limit is 64000/);
});

test('an oversized token is refused before it is validated or decoded', () => {
  // Not base64 at all, but too long: the length check answers first, so a huge garbage
  // header costs no regex pass and no decode.
  const r = invalid(parseAuthorization(`Negotiate ${'!'.repeat(1000)}`, 100));
  assert.equal(r.code, 'ERR_HTTP_HEADER_TOO_LARGE');
});

test('a 48,000-byte token passes the default 65536-byte bound', () => {
  const t = randomBytes(48_000);
  const r = parseAuthorization(`Negotiate ${t.toString('base64')}`, MAX);
  assert.ok(r.kind === 'negotiate' && r.token.equals(t));
});

test('formatWwwAuthenticate', () => {
  assert.equal(formatWwwAuthenticate(), 'Negotiate');
  assert.equal(formatWwwAuthenticate(new Uint8Array(0)), 'Negotiate');
  assert.equal(formatWwwAuthenticate(Buffer.from('abc')), 'Negotiate YWJj');
  // A view into a larger buffer encodes only its own bytes.
  const big = Buffer.from('xxabcxx');
  assert.equal(formatWwwAuthenticate(big.subarray(2, 5)), 'Negotiate YWJj');
  const t = randomBytes(300);
  const back = parseAuthorization(formatWwwAuthenticate(t), MAX);
  assert.ok(back.kind === 'negotiate' && back.token.equals(t));
});
